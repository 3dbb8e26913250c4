"""API v1 resources on the worked example: filters, pagination, CSV export, scopes and field-named errors."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import event, func, insert, select, update

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalRun, Guideline, Recommendation, Target
from appraisal.results import run_rows
from core.auth import API_SCOPES
from core.db import transaction
from core.models import ApiToken, AuditEntry, Employee, Feedback, Team, User, utcnow
from tests.fixtures.app import row_counts
from tests.fixtures.appraisal import WEEK

V1 = "/api/v1"
#: Every list, with a query that narrows it, for the checks all lists share.
LISTS = ("/employees/", "/teams/", "/feedback/", "/runs/", "/guidelines/", "/targets/", "/recommendations/",
         "/runs/{run}/results")


@pytest.fixture
def client(client):
    """The test client, each call with a database session of its own, as each request has when served.

    The worked example holds an app context open, which requests would otherwise share with their session:
    a snapshot older than the test's last write, and on SQLite a write lock held past the request.
    """
    def end_session():
        session = g.pop("plaudit_session", None)
        if session is not None:
            session.close()

    opened = client.open

    def open_alone(*args, **kwargs):
        end_session()
        response = opened(*args, **kwargs)
        if response.mimetype != "text/csv":  # a CSV export still reads from it until the test consumes it
            end_session()
        return response

    client.open = open_alone
    return client


@pytest.fixture
def example(worked_example):
    """The worked example, appraised, with each attributed item's team recorded as ingestion would."""
    worked_example.run_id = worked_example.run()
    with transaction() as session:
        session.execute(update(Feedback).values(team_id=select(Employee.team_id).where(
            Employee.id == Feedback.employee_id).scalar_subquery()))
    return worked_example


@pytest.fixture
def token(example):
    """Issue a token to an account (HR's by default) and return the header that sends it."""
    def issue(scopes=tuple(API_SCOPES), email="hr@example.com") -> dict:
        with transaction() as session:
            owner = session.scalar(select(User).where(User.email == email))
            row, plain = ApiToken.issue(owner, "test", list(scopes))
            session.add(row)
        return {"Authorization": f"Bearer {plain}"}
    return issue


def _get(client, headers, path, **query):
    response = client.get(V1 + path, query_string=query, headers=headers)
    assert response.status_code == 200, (path, query, response.get_json())
    return response.get_json()


def _every_page(client, headers, path, **query) -> list:
    rows, page = [], 1
    while True:
        response = client.get(V1 + path, query_string={**query, "page": page, "page_size": 2}, headers=headers)
        assert response.status_code == 200, response.get_json()
        rows += response.get_json()
        meta = json.loads(response.headers["X-Pagination"])
        if "next_page" not in meta:
            assert len(rows) == meta["total"]
            return rows
        page = meta["next_page"]


def _errors(response) -> dict:
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    return errors.get("query") or errors.get("json")


# --- employees and teams ---------------------------------------------------------------------------------


def test_employees_list_get_and_team_filter(client, example, token):
    headers = token(["org:read"])
    everyone = _get(client, headers, "/employees/")
    assert [e["name"] for e in everyone] == ["Ann", "Bob", "Cat", "Dan", "Mia Manager"]
    with transaction() as session:
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
    in_support = _get(client, headers, "/employees/", team=support)
    assert [(e["name"], e["team"]) for e in in_support] == [("Ann", "Support"), ("Bob", "Support"),
                                                           ("Cat", "Support")]
    ann = _get(client, headers, f"/employees/{example.ids['ann']}")
    assert ann == {"id": example.ids["ann"], "name": "Ann", "email": "ann@example.com", "active": True,
                   "team_id": support, "team": "Support"}
    assert client.get(f"{V1}/employees/999999", headers=headers).status_code == 404
    assert client.get(f"{V1}/employees/{2**40}", headers=headers).status_code == 404


def test_team_filters_take_in_the_teams_below(client, example, token):
    headers = token(["org:read", "feedback:read"])
    with transaction() as session:
        support = session.scalar(select(Team).where(Team.slug == "support"))
        tier2 = Team(name="Support Tier 2", slug="tier-2", parent=support)
        session.add(tier2)
        session.flush()
        session.get(Employee, example.ids["cat"]).team_id = tier2.id
        support_id, tier2_id = support.id, tier2.id
    teams = {t["slug"]: t for t in _get(client, headers, "/teams/")}
    assert teams["support"]["manager"] == "Mia Manager" and teams["support"]["members"] == 2
    assert teams["tier-2"] == {"id": tier2_id, "name": "Support Tier 2", "slug": "tier-2", "parent_id": support_id,
                               "manager_id": None, "manager": None, "members": 1}
    assert [t["slug"] for t in _get(client, headers, "/teams/", parent=support_id)] == ["tier-2"]
    assert _get(client, headers, f"/teams/{tier2_id}")["members"] == 1
    assert {e["name"] for e in _get(client, headers, "/employees/", team=support_id)} == {"Ann", "Bob", "Cat"}
    assert [e["name"] for e in _get(client, headers, "/employees/", team=tier2_id)] == ["Cat"]


# --- feedback --------------------------------------------------------------------------------------------


def test_every_csat_of_an_agent_below_3(client, example, token):
    headers = token(["feedback:read"])
    low = _get(client, headers, "/feedback/", employee=example.ids["bob"], kind="csat", max_value=2,
               page_size=100)
    assert sorted(item["value"] for item in low) == [1.0] * 5 + [2.0]  # this week 2 and 1, last week four 1s
    assert {(item["employee_id"], item["kind"]) for item in low} == {(example.ids["bob"], "csat")}
    # the same question asked of the database directly
    with transaction() as session:
        expected = set(session.scalars(select(Feedback.id).where(
            Feedback.employee_id == example.ids["bob"], Feedback.kind == "csat", Feedback.value < 3)))
    assert {item["id"] for item in low} == expected


def test_feedback_filters(client, example, token):
    headers = token(["feedback:read"])

    def ids(**query) -> set[int]:
        return {item["id"] for item in _every_page(client, headers, "/feedback/", **query)}

    with transaction() as session:
        def expected(*where) -> set[int]:
            return set(session.scalars(select(Feedback.id).where(*where)))

        support = session.scalar(select(Team.id).where(Team.slug == "support"))
        cases = {
            (("from", "2026-11-02"), ("to", "2026-11-08")): expected(
                Feedback.occurred_at >= WEEK.start, Feedback.occurred_at < WEEK.end),
            (("to", "2026-11-01"),): expected(Feedback.occurred_at < WEEK.start),
            (("team", support),): expected(Feedback.employee_id.in_(
                [example.ids[n] for n in ("ann", "bob", "cat")])),
            (("kind", "nps"), ("min_value", 9)): expected(Feedback.kind == "nps", Feedback.value >= 9),
            (("unattributed", "true"),): expected(Feedback.employee_id.is_(None)),
            (("channel", "test"), ("status", "accepted")): expected(),
            (("channel", "post_ticket_survey"),): set(),
        }
    for query, want in cases.items():
        assert want or query == (("channel", "post_ticket_survey"),)
        assert ids(**dict(query)) == want, query
    item = next(iter(cases[(("unattributed", "true"),)]))
    one = _get(client, headers, f"/feedback/{item}")
    assert one["employee_id"] is None and one["kind"] == "csat" and one["value"] == 1.0


# --- pagination and CSV ----------------------------------------------------------------------------------


def test_pages_carry_x_pagination_and_join_up_to_the_whole_list(client, example, token):
    headers = token()
    first = client.get(f"{V1}/feedback/", query_string={"page_size": 5}, headers=headers)
    meta = json.loads(first.headers["X-Pagination"])
    with transaction() as session:
        total = session.scalar(select(func.count()).select_from(Feedback))
    assert meta == {"total": total, "total_pages": -(-total // 5), "first_page": 1,
                    "last_page": -(-total // 5), "page": 1, "next_page": 2}
    every = _every_page(client, headers, "/feedback/")
    assert len({item["id"] for item in every}) == total
    assert every[:5] == first.get_json()
    beyond = client.get(f"{V1}/feedback/", query_string={"page": 999}, headers=headers)
    assert beyond.status_code == 200 and beyond.get_json() == []


def _same_cell(text: str, value) -> bool:
    if value is None:
        return text == ""
    if isinstance(value, (bool, list, dict)):
        return json.loads(text) == value
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return text == "'" + value  # never run as a formula by a spreadsheet
    return text == str(value)


def _lookup(row, column):
    for part in column.split("."):
        row = row.get(part) if isinstance(row, dict) else None
    return row


@pytest.mark.parametrize("path", LISTS)
def test_csv_holds_the_same_rows_as_the_json_pages(client, example, token, path):
    headers = token()
    path = path.format(run=example.run_id)
    with transaction() as session:  # a comment a spreadsheet would run as a formula
        session.execute(update(Feedback).where(Feedback.id == select(func.min(Feedback.id)).scalar_subquery())
                        .values(comment="=HYPERLINK(\"http://evil\")"))
    rows = _every_page(client, headers, path)
    assert rows, path
    exported = client.get(V1 + path, query_string={"format": "csv"}, headers=headers)
    # Streamed: sent as it is written, so without a length.
    assert exported.status_code == 200 and exported.mimetype == "text/csv" and "Content-Length" not in exported.headers
    assert "X-Pagination" not in exported.headers
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    header, lines = table[0], table[1:]
    assert len(lines) == len(rows)
    for row, line in zip(rows, lines, strict=True):
        differing = [(column, text, _lookup(row, column)) for column, text in zip(header, line, strict=True)
                     if not _same_cell(text, _lookup(row, column))]
        assert differing == [], path
    # Every field of the JSON items is in a column (objects as dotted columns).
    flat = {k for k in header}
    for key, value in rows[0].items():
        assert key in flat or (isinstance(value, dict) and any(c.startswith(key + ".") for c in flat)), key
    by_accept = client.get(V1 + path, headers={**headers, "Accept": "text/csv"})
    assert by_accept.mimetype == "text/csv" and by_accept.get_data() == exported.get_data()


def test_csv_export_takes_the_same_filters(client, example, token):
    headers = token(["feedback:read"])
    query = {"employee": example.ids["bob"], "kind": "csat", "max_value": 2}
    exported = client.get(f"{V1}/feedback/", query_string={**query, "format": "csv"}, headers=headers)
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert sorted(float(r["value"]) for r in table) == [1.0] * 5 + [2.0]
    assert {r["employee_id"] for r in table} == {str(example.ids["bob"])}


# --- appraisal runs and results --------------------------------------------------------------------------


def test_runs_list_get_and_results(client, example, token):
    headers = token(["appraisal:read"])
    runs = _get(client, headers, "/runs/")
    assert [(r["id"], r["status"], r["period"], r["from"], r["to"], r["guideline_version"]) for r in runs] == [
        (example.run_id, "completed", "week", "2026-11-02", "2026-11-08", 1)]
    assert _get(client, headers, f"/runs/{example.run_id}")["label"] == "week 2026-11-02 to 2026-11-08"
    assert _get(client, headers, "/runs/", status="failed") == []
    assert _get(client, headers, "/runs/", **{"from": "2026-11-03"}) == []
    results = _get(client, headers, f"/runs/{example.run_id}/results", page_size=100)
    with transaction() as session:
        expected = run_rows(session, session.get(AppraisalRun, example.run_id))
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
    assert [r["employee"] for r in results] == [r["employee"] for r in expected]
    ann = next(r for r in results if r["employee"] == "Ann")
    want = next(r for r in expected if r["employee"] == "Ann")
    assert set(ann["metrics"]) == {"csat_percent", "nps"}
    assert ann["metrics"]["csat_percent"]["value"] == want["metrics"]["csat_percent"]["value"]
    assert ann["composite"] == want["composite"] and ann["rank"] == want["rank"]
    assert [r["recommendations"] for r in results] == [r["recommendations"] for r in expected]
    in_support = _get(client, headers, f"/runs/{example.run_id}/results", team=support)
    assert {r["employee"] for r in in_support} == {"Ann", "Bob", "Cat"}
    only_dan = _get(client, headers, f"/runs/{example.run_id}/results", employee=example.ids["dan"])
    assert [r["employee"] for r in only_dan] == ["Dan"]
    assert client.get(f"{V1}/runs/999999/results", headers=headers).status_code == 404


def test_results_of_an_unfinished_run_are_refused(client, example, token):
    with transaction() as session:
        queued = AppraisalRun(period_kind="week", period_start=WEEK.start, period_end=WEEK.end,
                              guideline_id=session.scalar(select(Guideline.id)), status="queued")
        session.add(queued)
        session.flush()
        run_id = queued.id
    response = client.get(f"{V1}/runs/{run_id}/results", headers=token(["appraisal:read"]))
    assert response.status_code == 409 and "queued" in response.get_json()["message"]


def test_request_a_run(client, example, token):
    headers = token(["appraisal:write"])
    response = client.post(f"{V1}/runs/", json={"from": "2026-11-01", "to": "2026-11-30"}, headers=headers)
    assert response.status_code == 202, response.get_json()
    run = response.get_json()
    # No Redis in the tests: the run was computed as the request committed.
    assert (run["period"], run["from"], run["to"], run["status"]) == ("month", "2026-11-01", "2026-11-30",
                                                                       "completed")
    with transaction() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "appraisal.requested",
                                                        AuditEntry.entity_id == str(run["id"])))
        assert entry.actor_id == example.hr


@pytest.mark.parametrize(("body", "field"), [
    ({"from": "2026-11-08", "to": "2026-11-02"}, "to"),
    ({"from": "2026-11-02", "to": "2026-11-09", "period": "week"}, "period"),
    ({"from": "2026-11-02", "to": "2026-11-08", "guideline_version": 9}, "guideline_version"),
    ({"from": "2026-11-02", "to": "9999-12-31"}, "to"),
    ({"to": "2026-11-08"}, "from"),
    ({"from": "2026-11-02", "to": "2026-11-08", "period": "fortnight"}, "period"),
])
def test_a_run_request_names_the_field_at_fault_and_writes_nothing(client, example, token, app, body, field):
    headers = token(["appraisal:write"])
    before = row_counts(app)
    response = client.post(f"{V1}/runs/", json=body, headers=headers)
    assert field in _errors(response), response.get_json()
    assert row_counts(app) == before


# --- guidelines ------------------------------------------------------------------------------------------


def test_guideline_versions_and_the_current_one(client, example, token):
    headers = token(["appraisal:read"])
    versions = _get(client, headers, "/guidelines/")
    assert [(v["version"], v["note"], v["author"]) for v in versions] == [(1, "worked example", "Hana HR")]
    current = _get(client, headers, "/guidelines/current")
    assert current == _get(client, headers, "/guidelines/1")
    assert [m["rule"] for m in current["document"]["metrics"]] == ["csat_percent", "nps"]
    assert {"path": "metrics[csat_percent].weight", "before": None, "after": 60} in current["changes"]
    assert client.get(f"{V1}/guidelines/7", headers=headers).status_code == 404


def test_publish_a_guideline(client, example, token):
    headers = token(["guidelines:write", "appraisal:read"])
    current = _get(client, headers, "/guidelines/current")["document"]
    document = {**current, "metrics": [{**m, "weight": 70 if m["rule"] == "csat_percent" else 30}
                                       for m in current["metrics"]]}
    response = client.post(f"{V1}/guidelines/", json={"document": document, "note": "more CSAT"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    published = response.get_json()
    assert (published["version"], published["note"], published["author"]) == (2, "more CSAT", "Hana HR")
    assert sorted((c["path"], c["before"], c["after"]) for c in published["changes"]) == [
        ("metrics[csat_percent].weight", 60, 70), ("metrics[nps].weight", 40, 30)]
    assert _get(client, headers, "/guidelines/current")["version"] == 2
    with transaction() as session:
        assert session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "guideline.published",
                                                                AuditEntry.entity_id == str(
                                                                    session.scalar(select(Guideline.id).where(
                                                                        Guideline.version == 2))))) == example.hr


def test_an_invalid_guideline_is_refused_naming_its_fields(client, example, token, app):
    headers = token(["guidelines:write"])
    before = row_counts(app)
    response = client.post(f"{V1}/guidelines/", headers=headers, json={"document": {
        "metrics": [{"rule": "csat_percent", "weight": 60}, {"rule": "no_such_rule", "weight": 30}]}})
    document = _errors(response)["document"]
    assert "weights must sum to 100" in json.dumps(document["metrics"])
    assert row_counts(app) == before
    unknown = client.post(f"{V1}/guidelines/", headers=headers, json={"document": {
        "metrics": [{"rule": "csat_percent", "weight": 60}, {"rule": "no_such_rule", "weight": 40}]}})
    assert "unknown scoring rule" in json.dumps(_errors(unknown)["document"]["metrics"])
    assert "document" in _errors(client.post(f"{V1}/guidelines/", headers=headers, json={"note": "x"}))
    assert row_counts(app) == before


# --- targets ---------------------------------------------------------------------------------------------


def test_targets_list_and_filters(client, example, token):
    headers = token(["appraisal:read"])
    every = _get(client, headers, "/targets/")
    assert sorted((t["employee"] or t["team"], t["value"]) for t in every) == [
        ("Ann", 80.0), ("Dan", 50.0), ("Support", 65.0)]
    assert {(t["from"], t["to"]) for t in every} == {("2026-11-01", "2026-11-30")}
    assert [t["value"] for t in _get(client, headers, "/targets/", employee=example.ids["ann"])] == [80.0]
    assert _get(client, headers, "/targets/", **{"from": "2026-12-01"}) == []
    assert len(_get(client, headers, "/targets/", **{"from": "2026-11-30", "to": "2026-12-31"})) == 3
    assert _get(client, headers, "/targets/", metric="nps") == []


def test_set_a_target(client, example, token):
    headers = token(["targets:write"])
    body = {"metric": "csat_percent", "value": 70, "from": "2026-11-01", "to": "2026-11-30",
            "employee": example.ids["bob"]}
    response = client.post(f"{V1}/targets/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    target = response.get_json()
    assert (target["employee"], target["value"], target["set_by"]) == ("Bob", 70.0, example.hr)
    changed = client.post(f"{V1}/targets/", json={**body, "value": 75}, headers=headers).get_json()
    assert changed["id"] == target["id"] and changed["value"] == 75.0
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "target.set", AuditEntry.entity_id == str(target["id"]))) == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"metric": "sla_breaches"}, "metric"),
    ({"metric": "CSAT!"}, "metric"),
    ({"team": 1}, "employee"),
    ({"employee": 999999}, "employee"),
    ({"value": "high"}, "value"),
    ({"to": "2026-10-01"}, "to"),
    ({"from": "1 Nov 2026"}, "from"),
])
def test_a_refused_target_names_the_field(client, example, token, app, change, field):
    headers = token(["targets:write"])
    body = {"metric": "csat_percent", "value": 70, "from": "2026-11-01", "to": "2026-11-30",
            "employee": example.ids["bob"], **change}
    before = row_counts(app)
    assert field in _errors(client.post(f"{V1}/targets/", json=body, headers=headers))
    assert row_counts(app) == before


def test_a_target_beyond_hr_bounds_names_the_value(client, example, token, app):
    with transaction() as session:
        guideline = session.scalar(select(Guideline))
        document = json.loads(json.dumps(guideline.document))
        document["metrics"][0]["target_bounds"] = {"min": 50, "max": 90}
        publish_guideline(session, document)
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
    response = client.post(f"{V1}/targets/", headers=token(["targets:write"]), json={
        "metric": "csat_percent", "value": 95, "from": "2026-11-01", "to": "2026-11-30", "team": support})
    assert "HR allows targets from 50 to 90" in _errors(response)["value"][0]


# --- recommendations -------------------------------------------------------------------------------------


def test_recommendations_list_and_decide(client, example, token):
    headers = token(["appraisal:read", "review:write"])
    every = _get(client, headers, "/recommendations/", run=example.run_id, page_size=100)
    with transaction() as session:
        assert len(every) == session.scalar(select(func.count()).select_from(Recommendation))
    proposed = _get(client, headers, "/recommendations/", status="proposed")
    assert sorted((r["employee"], r["kind"], r["amount"]) for r in proposed) == [
        ("Ann", "bonus", 100.0), ("Bob", "bonus", 30.0)]
    bob = next(r for r in proposed if r["employee"] == "Bob")
    decided = client.post(f"{V1}/recommendations/{bob['id']}/decision", json={"approve": True, "note": "well done"},
                          headers=headers)
    assert decided.status_code == 200, decided.get_json()
    assert (decided.get_json()["status"], decided.get_json()["decided_by"]) == ("approved", example.hr)
    assert _get(client, headers, f"/recommendations/{bob['id']}")["decision_note"] == "well done"
    again = client.post(f"{V1}/recommendations/{bob['id']}/decision", json={"approve": False}, headers=headers)
    assert again.status_code == 409 and "already approved" in again.get_json()["message"]
    assert client.post(f"{V1}/recommendations/999999/decision", json={"approve": True},
                       headers=headers).status_code == 404
    assert "approve" in _errors(client.post(f"{V1}/recommendations/{bob['id']}/decision", json={},
                                            headers=headers))
    with transaction() as session:
        assert session.scalar(select(AuditEntry.actor_id).where(
            AuditEntry.action == "recommendation.approved", AuditEntry.entity_id == str(bob["id"]))) == example.hr
    team_of_dan = _get(client, headers, "/recommendations/", employee=example.ids["dan"], kind="coaching")
    assert [(r["employee"], r["kind"]) for r in team_of_dan] == [("Dan", "coaching")]


# --- scopes, owners and arguments ------------------------------------------------------------------------


ENDPOINTS = [("GET", "/employees/", "org:read"), ("GET", "/teams/", "org:read"),
             ("GET", "/feedback/", "feedback:read"), ("GET", "/runs/", "appraisal:read"),
             ("POST", "/runs/", "appraisal:write"), ("GET", "/guidelines/current", "appraisal:read"),
             ("POST", "/guidelines/", "guidelines:write"), ("GET", "/targets/", "appraisal:read"),
             ("POST", "/targets/", "targets:write"), ("GET", "/recommendations/", "appraisal:read"),
             ("POST", "/recommendations/1/decision", "review:write")]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_each_endpoint_needs_its_scope(client, example, token, method, path, scope):
    others = [s for s in API_SCOPES if s != scope]
    call = lambda headers: client.open(V1 + path, method=method, json={}, headers=headers)
    assert call({}).status_code == 401
    refused = call(token(others))
    assert refused.status_code == 403 and scope in refused.get_json()["message"]
    assert call(token([scope])).status_code not in (401, 403)


def test_every_scope_is_documented_and_every_endpoint_uses_a_known_one(app):
    from pathlib import Path

    from core.auth import access_of

    docs = Path(__file__).resolve().parents[2].joinpath("docs", "api.md").read_text()
    assert [scope for scope in API_SCOPES if f"| `{scope}` |" not in docs] == []
    used = {access_of(app, rule.endpoint)[0] for rule in app.url_map.iter_rules()
            if rule.rule.startswith(V1 + "/") and rule.endpoint != "api-docs.openapi_json"}
    assert {access.removeprefix("token:") for access in used} == set(API_SCOPES)


def test_a_token_lapses_when_its_owner_loses_hr(client, example, token):
    headers = token()
    assert client.get(f"{V1}/employees/", headers=headers).status_code == 200
    with transaction() as session:
        session.get(User, example.hr).roles = ["manager"]
    refused = client.get(f"{V1}/employees/", headers=headers)
    assert refused.status_code == 403 and "no longer holds" in refused.get_json()["message"]


def test_an_admin_token_reads_no_one_s_data(client, example, token):
    headers = token(email="admin@example.com")
    for path in ("/employees/", "/teams/", "/feedback/", f"/runs/{example.run_id}/results", "/targets/",
                 "/recommendations/", f"/employees/{example.ids['ann']}"):
        refused = client.get(V1 + path, headers=headers)
        assert refused.status_code == 403 and "'hr'" in refused.get_json()["message"], path
    assert client.get(f"{V1}/runs/", headers=headers).status_code == 200
    assert client.get(f"{V1}/guidelines/current", headers=headers).status_code == 200


def test_an_admin_token_changes_no_one_s_targets_or_bonuses(app, client, example, token):
    headers = token(email="admin@example.com")
    before = row_counts(app)
    target = client.post(f"{V1}/targets/", headers=headers, json={
        "metric": "csat_percent", "value": 70, "from": "2026-11-01", "to": "2026-11-30",
        "employee": example.ids["ann"]})
    assert target.status_code == 403 and "'hr'" in target.get_json()["message"]
    with transaction() as session:
        recommendation = session.scalar(select(func.min(Recommendation.id)))
    decision = client.post(f"{V1}/recommendations/{recommendation}/decision", headers=headers,
                           json={"approve": True})
    assert decision.status_code == 403 and "'hr'" in decision.get_json()["message"]
    assert row_counts(app) == before


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/feedback/", {"page": 0}, "page"),
    ("/feedback/", {"page_size": 1000}, "page_size"),
    ("/feedback/", {"min_value": 4, "max_value": 2}, "max_value"),
    ("/feedback/", {"from": "last week"}, "from"),
    ("/feedback/", {"from": "2026-11-08", "to": "2026-11-01"}, "to"),
    ("/feedback/", {"employee": "bob"}, "employee"),
    ("/feedback/", {"employee": 2**40}, "employee"),
    ("/feedback/", {"kind": "CSAT\x00"}, "kind"),
    ("/feedback/", {"status": "lost"}, "status"),
    ("/feedback/", {"min_value": "nan"}, "min_value"),
    ("/feedback/", {"format": "xml"}, "format"),
    ("/employees/", {"active": "perhaps"}, "active"),
    ("/runs/", {"status": "done"}, "status"),
    ("/recommendations/", {"kind": "cash"}, "kind"),
    ("/targets/", {"to": "10000-01-01"}, "to"),
])
def test_bad_arguments_are_refused_naming_the_field(client, example, token, path, query, field):
    assert field in _errors(client.get(V1 + path, query_string=query, headers=token()))


# --- a constant number of queries ------------------------------------------------------------------------


def _grow(example, employees: int) -> int:
    """Add ``employees`` agents to Support with feedback in the example's week, appraise again; return the run."""
    with transaction() as session:
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
        ids = list(session.scalars(insert(Employee).returning(Employee.id), [
            {"name": f"Agent {n:04d}", "email": f"agent{n}@example.com", "team_id": support}
            for n in range(employees)]))
        session.execute(insert(Feedback), [
            {"channel": "test", "kind": kind, "external_id": f"grown-{kind}-{i}-{k}", "value": float(k % 5 + 1),
             "scale_min": 1.0 if kind == "csat" else 0.0, "scale_max": 5.0 if kind == "csat" else 10.0,
             "employee_id": employee, "team_id": support, "status": "accepted", "payload": {},
             "occurred_at": WEEK.start + timedelta(days=k % 5, hours=9), "received_at": utcnow()}
            for i, employee in enumerate(ids) for kind in ("csat", "nps") for k in range(5)])
        session.execute(insert(Target), [
            {"metric": "csat_percent", "employee_id": employee, "period_start": WEEK.start,
             "period_end": WEEK.end, "value": 70.0, "updated_at": utcnow(), "created_at": utcnow()}
            for employee in ids])
    return example.run()


def test_each_list_issues_as_many_queries_for_a_large_org_as_for_a_small_one(client, app, example):
    with transaction() as session:
        owner = session.get(User, example.hr)
        row, plain = ApiToken.issue(owner, "counts", list(API_SCOPES))
        row.last_used_at = utcnow() + timedelta(hours=1)  # no "last used" write in one count only
        session.add(row)
    headers = {"Authorization": f"Bearer {plain}"}
    engine = app.extensions["plaudit.db"].engine

    def counts(run_id) -> dict[str, int]:
        found = {}
        for path in LISTS:
            for query in ({"page_size": 100}, {"format": "csv"}):
                statements = []
                listener = lambda *args, sink=statements: sink.append(args[2])
                event.listen(engine, "before_cursor_execute", listener)
                try:
                    response = client.get(V1 + path.format(run=run_id), query_string=query, headers=headers)
                    response.get_data()  # a CSV export queries as it streams
                finally:
                    event.remove(engine, "before_cursor_execute", listener)
                assert response.status_code == 200, (path, query)
                found[f"{path} {query}"] = len(statements)
        return found

    small = counts(example.run_id)
    large = counts(_grow(example, 150))
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Employee)) > 150
    assert small == large
