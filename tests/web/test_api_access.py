"""API v1 access and cost: every endpoint's scope, tokens whose owner may not see anyone, field-named
refusals of bad arguments, and lists that issue as many queries for a large organisation as for a small one."""
# ruff: noqa: F811 -- tests take the fixtures imported from tests.web.api_support as arguments
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, insert, select

from appraisal.models import Recommendation, Target
from core.auth import API_SCOPES
from core.db import transaction
from core.models import ApiToken, Employee, Feedback, Team, User, utcnow
from tests.fixtures.app import row_counts
from tests.fixtures.appraisal import WEEK
from tests.web.api_support import (  # noqa: F401 -- client, example and token are fixtures
    LISTS,
    V1,
    client,
    example,
    field_errors,
    token,
)

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
    response = client.get(V1 + path, query_string=query, headers=token())
    assert field in field_errors(response)
    # and on the one line every refusal carries, as the errors the schema found say it
    assert response.get_json()["message"].startswith(f"{field}: "), response.get_json()


def test_a_body_the_schema_refuses_says_every_field_in_its_message(client, example, token):
    answer = client.post(V1 + "/runs/", json={"from": "2026-11-02", "guideline_version": 0}, headers=token())
    assert answer.status_code == 422
    said = answer.get_json()["message"]
    assert "to: Missing data for required field." in said and "guideline_version: " in said


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
