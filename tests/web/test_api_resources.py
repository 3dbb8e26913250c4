"""API v1 resources on the worked example: filters, pagination, CSV export, runs, guidelines, targets and
recommendations, with field-named errors (access and query counts: test_api_access.py)."""
# ruff: noqa: F811 -- tests take the fixtures imported from tests.web.api_support as arguments
from __future__ import annotations

import contextvars
import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalRun, Guideline, Recommendation
from appraisal.periods import month_of
from appraisal.results import run_rows
from core.db import transaction
from core.models import AuditEntry, Employee, Feedback, Team, utcnow
from tests.fixtures.app import row_counts
from tests.fixtures.appraisal import WEEK
from tests.web.api_support import (  # noqa: F401 -- client, example and token are fixtures
    LISTS,
    V1,
    client,
    every_page,
    example,
    field_errors,
    get_json,
    token,
)

# --- employees and teams ---------------------------------------------------------------------------------


def test_employees_list_get_and_team_filter(client, example, token):
    headers = token(["org:read"])
    everyone = get_json(client, headers, "/employees/")
    assert [e["name"] for e in everyone] == ["Ann", "Bob", "Cat", "Dan", "Mia Manager"]
    with transaction() as session:
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
    in_support = get_json(client, headers, "/employees/", team=support)
    assert [(e["name"], e["team"]) for e in in_support] == [("Ann", "Support"), ("Bob", "Support"),
                                                           ("Cat", "Support")]
    ann = get_json(client, headers, f"/employees/{example.ids['ann']}")
    assert ann == {"id": example.ids["ann"], "name": "Ann", "email": "ann@example.com", "active": True,
                   "started_on": None, "left_on": None, "team_id": support, "team": "Support"}
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
    teams = {t["slug"]: t for t in get_json(client, headers, "/teams/")}
    assert teams["support"]["manager"] == "Mia Manager" and teams["support"]["members"] == 2
    assert teams["tier-2"] == {"id": tier2_id, "name": "Support Tier 2", "slug": "tier-2", "parent_id": support_id,
                               "manager_id": None, "manager": None, "members": 1}
    assert [t["slug"] for t in get_json(client, headers, "/teams/", parent=support_id)] == ["tier-2"]
    assert get_json(client, headers, f"/teams/{tier2_id}")["members"] == 1
    assert {e["name"] for e in get_json(client, headers, "/employees/", team=support_id)} == {"Ann", "Bob", "Cat"}
    assert [e["name"] for e in get_json(client, headers, "/employees/", team=tier2_id)] == ["Cat"]


# --- feedback --------------------------------------------------------------------------------------------


def test_every_csat_of_an_agent_below_3(client, example, token):
    headers = token(["feedback:read"])
    low = get_json(client, headers, "/feedback/", employee=example.ids["bob"], kind="csat", max_value=2,
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
        return {item["id"] for item in every_page(client, headers, "/feedback/", **query)}

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
    one = get_json(client, headers, f"/feedback/{item}")
    assert one["employee_id"] is None and one["kind"] == "csat" and one["value"] == 1.0

    # What arrived since a fetch, whenever it happened: an answer about last week stored today is new.
    with transaction() as session:
        late = session.scalars(select(Feedback).order_by(Feedback.id).limit(2)).all()
        for stored in late:
            stored.received_at = utcnow() + timedelta(minutes=5)
        late_ids = {stored.id for stored in late}
    since = (utcnow() + timedelta(minutes=1)).isoformat()
    assert ids(received_since=since) == late_ids
    assert len(ids(received_since="2000-01-01T00:00:00")) > len(late_ids)  # no offset: UTC
    refused = client.get(f"{V1}/feedback/", query_string={"received_since": "yesterday"}, headers=headers)
    assert refused.status_code == 422 and "received_since" in refused.get_json()["errors"]["query"]
    unencoded = client.get(f"{V1}/feedback/?received_since=2026-11-27T07:58:00+13:00", headers=headers)
    assert unencoded.status_code == 422 and "write the + of an offset as %2B" in str(unencoded.get_json()["errors"])


def test_syncing_by_arrival_reads_an_index_not_the_table(app, session):
    """A client polling ``received_since`` every minute read the whole feedback table each time (0.5 s and
    both CPUs at a million items)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    query = select(Feedback.id).where(Feedback.received_at >= utcnow()).compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    session.execute(text("SET LOCAL enable_seqscan = off"))  # the test's few rows would be read whole anyway
    plan = "\n".join(session.scalars(text(f"EXPLAIN {query}")))
    session.rollback()
    assert "ix_feedback_received_at" in plan, plan


# --- pagination and CSV ----------------------------------------------------------------------------------


def test_pages_carry_x_pagination_and_join_up_to_the_whole_list(client, example, token):
    headers = token()
    first = client.get(f"{V1}/feedback/", query_string={"page_size": 5}, headers=headers)
    meta = json.loads(first.headers["X-Pagination"])
    with transaction() as session:
        total = session.scalar(select(func.count()).select_from(Feedback))
    assert meta == {"total": total, "total_pages": -(-total // 5), "first_page": 1,
                    "last_page": -(-total // 5), "page": 1, "next_page": 2}
    every = every_page(client, headers, "/feedback/")
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
def test_csv_holds_the_same_rows_as_the_json_pages(app, client, example, token, path):
    headers = token()
    path = path.format(run=example.run_id)
    with transaction() as session:  # a comment a spreadsheet would run as a formula
        session.execute(update(Feedback).where(Feedback.id == select(func.min(Feedback.id)).scalar_subquery())
                        .values(comment="=HYPERLINK(\"http://evil\")"))
    rows = every_page(client, headers, path)
    assert rows, path
    # Sent as a server sends it: outside the test's app context, so the request's own ends (and its session
    # with it) before the body streams. Inside it, the tests had hidden that every CSV list was a 500 on
    # PostgreSQL, its cursor closed with the request's session.
    def export():
        response = app.test_client().get(V1 + path, query_string={"format": "csv"}, headers=headers)
        return response, response.get_data(as_text=True)

    exported, body = contextvars.Context().run(export)
    # Streamed: sent as it is written, so without a length.
    assert exported.status_code == 200 and exported.mimetype == "text/csv" and "Content-Length" not in exported.headers
    assert "X-Pagination" not in exported.headers
    table = list(csv.reader(io.StringIO(body)))
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
    runs = get_json(client, headers, "/runs/")
    assert [(r["id"], r["status"], r["period"], r["from"], r["to"], r["guideline_version"]) for r in runs] == [
        (example.run_id, "completed", "week", "2026-11-02", "2026-11-08", 1)]
    assert get_json(client, headers, f"/runs/{example.run_id}")["label"] == "week 2026-11-02 to 2026-11-08"
    assert get_json(client, headers, "/runs/", status="failed") == []
    assert get_json(client, headers, "/runs/", **{"from": "2026-11-03"}) == []
    results = get_json(client, headers, f"/runs/{example.run_id}/results", page_size=100)
    with transaction() as session:
        expected = run_rows(session, session.get(AppraisalRun, example.run_id))
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
    assert [r["employee"] for r in results] == [r["employee"] for r in expected]
    ann = next(r for r in results if r["employee"] == "Ann")
    want = next(r for r in expected if r["employee"] == "Ann")
    assert set(ann["metrics"]) == {"csat_percent", "nps"}
    assert ann["metrics"]["csat_percent"]["value"] == want["metrics"]["csat_percent"]["value"]
    assert ann["composite"] == want["composite"] and ann["rank"] == want["rank"]
    # (the times as JSON gives them)
    assert [r["recommendations"] for r in results] == json.loads(json.dumps(
        [r["recommendations"] for r in expected], default=lambda when: when.isoformat()))
    assert {"requested_amount", "decided_by", "decision_note"} <= set(ann["recommendations"][0])
    in_support = get_json(client, headers, f"/runs/{example.run_id}/results", team=support)
    assert {r["employee"] for r in in_support} == {"Ann", "Bob", "Cat"}
    only_dan = get_json(client, headers, f"/runs/{example.run_id}/results", employee=example.ids["dan"])
    assert [r["employee"] for r in only_dan] == ["Dan"]
    assert client.get(f"{V1}/runs/999999/results", headers=headers).status_code == 404


def test_a_run_says_when_its_period_had_feedback_arrive_after_it(client, example, token):
    headers = token(["appraisal:read"])
    assert get_json(client, headers, f"/runs/{example.run_id}")["out_of_date"] is None
    with transaction() as session:  # an answer of the week, imported days later
        session.add(Feedback(channel="test", kind="csat", external_id="late", value=5.0, scale_min=1.0, scale_max=5.0,
                             employee_id=example.ids["ann"], occurred_at=WEEK.start + timedelta(days=2)))
    assert get_json(client, headers, f"/runs/{example.run_id}")["out_of_date"] == {
        "arrived": 1, "changed": 0, "period_flags": 0}


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
    assert response.headers["Location"] == f"{V1}/runs/{run['id']}"  # where to poll it
    # No Redis in the tests: the run was computed as the request committed.
    assert (run["period"], run["from"], run["to"], run["status"]) == ("month", "2026-11-01", "2026-11-30",
                                                                       "completed")
    with transaction() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "appraisal.requested",
                                                        AuditEntry.entity_id == str(run["id"])))
        assert entry.actor_id == example.hr


def test_a_run_of_a_period_not_over_yet_says_its_numbers_will_change(client, example, token):
    """The CLI and the runs page said so; the API answered such a run as any other."""
    this_month = month_of(utcnow().date())
    last = (this_month.end - timedelta(days=1)).date()
    body = {"from": this_month.start.date().isoformat(), "to": last.isoformat()}
    run = client.post(f"{V1}/runs/", json=body, headers=token(["appraisal:write"])).get_json()
    assert run["warning"].startswith(f"the {this_month.label} has not ended yet (its last day is {last})")
    listed = {r["id"]: r["warning"] for r in get_json(client, token(["appraisal:read"]), "/runs/")}
    assert listed == {run["id"]: run["warning"], example.run_id: None}  # the worked example's week is over
    # Read after its period ended, a run made before still says so: it lacks what came later.
    with transaction() as session:
        session.execute(update(AppraisalRun).where(AppraisalRun.id == example.run_id)
                        .values(started_at=WEEK.start + timedelta(days=3)))
    assert get_json(client, token(["appraisal:read"]), f"/runs/{example.run_id}")["warning"] == (
        "this run was made on 2026-11-05, before the week 2026-11-02 to 2026-11-08 ended: feedback that came later "
        "is not in it; run the period again for its final numbers")


@pytest.mark.parametrize(("body", "field"), [
    ({"from": "2026-11-08", "to": "2026-11-02"}, "to"),
    ({"from": "2026-11-02", "to": "2026-11-09", "period": "week"}, "period"),
    ({"from": "2026-11-02", "to": "2026-11-08", "guideline_version": 9}, "guideline_version"),
    ({"from": "2026-11-02", "to": "9999-12-31"}, "to"),
    ({"to": "2026-11-08"}, "from"),
    ({"from": "2026-11-02", "to": "2026-11-08", "period": "fortnight"}, "period"),
    # A quarter ending on the last day Python has would end past it (was a 500), and one still to come
    # has nothing to appraise
    ({"from": "9999-10-01", "to": "9999-12-30"}, "to"),
    ({"from": "2099-01-01", "to": "2099-03-31"}, "from"),
])
def test_a_run_request_names_the_field_at_fault_and_writes_nothing(client, example, token, app, body, field):
    headers = token(["appraisal:write"])
    before = row_counts(app)
    response = client.post(f"{V1}/runs/", json=body, headers=headers)
    assert field in field_errors(response), response.get_json()
    assert row_counts(app) == before


# --- guidelines ------------------------------------------------------------------------------------------


def test_guideline_versions_and_the_current_one(client, example, token):
    headers = token(["appraisal:read"])
    versions = get_json(client, headers, "/guidelines/")
    assert [(v["version"], v["note"], v["author"]) for v in versions] == [(1, "worked example", "Hana HR")]
    current = get_json(client, headers, "/guidelines/current")
    assert current == get_json(client, headers, "/guidelines/1")
    assert [m["rule"] for m in current["document"]["metrics"]] == ["csat_percent", "nps"]
    assert {"path": "metrics[csat_percent].weight", "before": None, "after": 60} in current["changes"]
    assert client.get(f"{V1}/guidelines/7", headers=headers).status_code == 404


def test_publish_a_guideline(client, example, token):
    headers = token(["guidelines:write", "appraisal:read"])
    current = get_json(client, headers, "/guidelines/current")["document"]
    document = {**current, "metrics": [{**m, "weight": 70 if m["rule"] == "csat_percent" else 30}
                                       for m in current["metrics"]]}
    response = client.post(f"{V1}/guidelines/", json={"document": document, "note": "more CSAT"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    published = response.get_json()
    assert (published["version"], published["note"], published["author"]) == (2, "more CSAT", "Hana HR")
    assert sorted((c["path"], c["before"], c["after"]) for c in published["changes"]) == [
        ("metrics[csat_percent].weight", 60, 70), ("metrics[nps].weight", 40, 30)]
    assert get_json(client, headers, "/guidelines/current")["version"] == 2
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
    document = field_errors(response)["document"]
    assert "weights must sum to 100" in json.dumps(document["metrics"])
    assert row_counts(app) == before
    unknown = client.post(f"{V1}/guidelines/", headers=headers, json={"document": {
        "metrics": [{"rule": "csat_percent", "weight": 60}, {"rule": "no_such_rule", "weight": 40}]}})
    assert "unknown scoring rule" in json.dumps(field_errors(unknown)["document"]["metrics"])
    assert "document" in field_errors(client.post(f"{V1}/guidelines/", headers=headers, json={"note": "x"}))
    assert row_counts(app) == before


# --- targets ---------------------------------------------------------------------------------------------


def test_targets_list_and_filters(client, example, token):
    headers = token(["appraisal:read"])
    every = get_json(client, headers, "/targets/")
    assert sorted((t["employee"] or t["team"], t["value"]) for t in every) == [
        ("Ann", 80.0), ("Dan", 50.0), ("Support", 65.0)]
    assert {(t["from"], t["to"]) for t in every} == {("2026-11-01", "2026-11-30")}
    assert [t["value"] for t in get_json(client, headers, "/targets/", employee=example.ids["ann"])] == [80.0]
    assert get_json(client, headers, "/targets/", **{"from": "2026-12-01"}) == []
    assert len(get_json(client, headers, "/targets/", **{"from": "2026-11-30", "to": "2026-12-31"})) == 3
    assert get_json(client, headers, "/targets/", metric="nps") == []


def test_a_target_or_a_run_at_fault_in_several_fields_names_them_all_at_once(client, example, token):
    target = client.post(f"{V1}/targets/", headers=token(["targets:write"]), json={
        "metric": "nope", "value": 70, "from": "2026-11-01", "to": "2026-11-30", "employee": 999999})
    assert set(field_errors(target)) == {"metric", "employee"}
    run = client.post(f"{V1}/runs/", headers=token(["appraisal:write"]), json={
        "from": "2026-11-02", "to": "2026-11-09", "period": "week", "guideline_version": 9})
    assert set(field_errors(run)) == {"period", "guideline_version"}
    assert run.get_json()["message"].startswith("period: 2026-11-02 to 2026-11-09 is not a week")


def test_set_a_target(client, example, token):
    headers = token(["targets:write"])
    body = {"metric": "csat_percent", "value": 70, "from": "2026-11-01", "to": "2026-11-30",
            "employee": example.ids["bob"]}
    response = client.post(f"{V1}/targets/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    target = response.get_json()
    assert (target["employee"], target["value"], target["set_by"]) == ("Bob", 70.0, example.hr)
    again = client.post(f"{V1}/targets/", json={**body, "value": 75, "team": None}, headers=headers)
    assert again.status_code == 200  # changed, not created
    changed = again.get_json()
    assert changed["id"] == target["id"] and changed["value"] == 75.0  # team null, as read back: left out
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
    ({"from": "1900-01-01", "to": "9999-12-30"}, "to"),  # was a 500: the period's end overflowed
    ({"value": 150}, "value"),  # CSAT % runs to 100; the API took any number (the page did not)
])
def test_a_refused_target_names_the_field(client, example, token, app, change, field):
    headers = token(["targets:write"])
    body = {"metric": "csat_percent", "value": 70, "from": "2026-11-01", "to": "2026-11-30",
            "employee": example.ids["bob"], **change}
    before = row_counts(app)
    assert field in field_errors(client.post(f"{V1}/targets/", json=body, headers=headers))
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
    assert "HR allows targets from 50 to 90" in field_errors(response)["value"][0]


# --- recommendations -------------------------------------------------------------------------------------


def test_recommendations_list_and_decide(client, example, token):
    headers = token(["appraisal:read", "review:write"])
    every = get_json(client, headers, "/recommendations/", run=example.run_id, page_size=100)
    with transaction() as session:
        assert len(every) == session.scalar(select(func.count()).select_from(Recommendation))
    proposed = get_json(client, headers, "/recommendations/", status="proposed")
    assert sorted((r["employee"], r["kind"], r["amount"]) for r in proposed) == [
        ("Ann", "bonus", 100.0), ("Bob", "bonus", 30.0)]
    bob = next(r for r in proposed if r["employee"] == "Bob")
    for loose in ("yes", "true", 1):  # marshmallow alone took these for true: an approval must say true
        refused = client.post(f"{V1}/recommendations/{bob['id']}/decision", json={"approve": loose}, headers=headers)
        assert "approve" in field_errors(refused), loose
    decided = client.post(f"{V1}/recommendations/{bob['id']}/decision", json={"approve": True, "note": "well done"},
                          headers=headers)
    assert decided.status_code == 200, decided.get_json()
    assert (decided.get_json()["status"], decided.get_json()["decided_by"]) == ("approved", example.hr)
    assert get_json(client, headers, f"/recommendations/{bob['id']}")["decision_note"] == "well done"
    again = client.post(f"{V1}/recommendations/{bob['id']}/decision", json={"approve": False}, headers=headers)
    assert again.status_code == 409 and "already approved" in again.get_json()["message"]
    assert client.post(f"{V1}/recommendations/999999/decision", json={"approve": True},
                       headers=headers).status_code == 404
    assert "approve" in field_errors(client.post(f"{V1}/recommendations/{bob['id']}/decision", json={},
                                            headers=headers))
    with transaction() as session:
        assert session.scalar(select(AuditEntry.actor_id).where(
            AuditEntry.action == "recommendation.approved", AuditEntry.entity_id == str(bob["id"]))) == example.hr
    team_of_dan = get_json(client, headers, "/recommendations/", employee=example.ids["dan"], kind="coaching")
    assert [(r["employee"], r["kind"]) for r in team_of_dan] == [("Dan", "coaching")]
