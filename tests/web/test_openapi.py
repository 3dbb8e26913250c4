"""The OpenAPI document: valid, complete, and a schemathesis run against it finds no server error."""
from __future__ import annotations

import re
from collections import Counter

import schemathesis
from flask import g
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import func, select

from appraisal.models import Recommendation
from core.auth import API_SCOPES
from core.db import transaction
from core.models import ApiToken, Feedback, Team, User
from tests.fixtures.mystery import assign_visit

DOCUMENT = "/api/v1/openapi.json"
#: Cases generated per operation and pass (valid data, invalid data, and valid data about rows that exist).
EXAMPLES = 25


def test_the_served_document_validates(client):
    response = client.get(DOCUMENT)
    assert response.status_code == 200
    validate(response.get_json())


def test_every_api_route_is_in_the_document(app, client):
    paths = client.get(DOCUMENT).get_json()["paths"]
    documented = {(path, method.upper()) for path, operations in paths.items() for method in operations
                  if method != "parameters"}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != DOCUMENT:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            served |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented operations nobody serves"
    for path, method in documented:
        operation = paths[path][method.lower()]
        assert operation.get("summary"), f"{method} {path} has no summary"


def test_each_operation_names_its_scope_and_its_refusals(app, client):
    """A client generated from the document knew of no 401, 403, 404, 413, 415 or 503, nor which scope a call
    needs; a feedback endpoint's 422 for a body of the wrong shape is an Error, not the report it promised."""
    from core.auth import ACCESS_ATTR

    paths = client.get(DOCUMENT).get_json()["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == DOCUMENT:
            continue
        access = getattr(app.view_functions[rule.endpoint], ACCESS_ATTR)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            where = f"{method} {path}"
            assert [f"token:{scope}" for scope in operation["x-scopes"]] == list(access), where
            assert f"`{operation['x-scopes'][0]}` scope" in operation["description"], where
            assert {"401", "403", "503"} <= set(operation["responses"]), where
            assert "404" in operation["responses"] or not rule.arguments, where
            for parameter in operation.get("parameters", []):  # ids run from 1, in paths as in queries
                if parameter["in"] == "path" and parameter["schema"]["type"] == "integer":
                    assert parameter["schema"]["minimum"] == 1, where
            assert ({"400", "413", "415"} <= set(operation["responses"])) == ("requestBody" in operation), where
    batch = paths["/api/v1/channels/{slug}/feedback/batch"]["post"]
    assert batch["responses"]["422"]["content"]["application/json"]["schema"]["oneOf"][1] == {
        "$ref": "#/components/schemas/Error"}
    assert "PLAUDIT_INGEST_BATCH_LIMIT" in batch["requestBody"]["content"]["application/json"]["schema"]["description"]
    assert "409" in paths["/api/v1/runs/{run_id}/results"]["get"]["responses"]
    # Refusals the docs describe, each an Error: a repeated external_ref, no guideline yet, misaligned periods
    assert paths["/api/v1/mystery/assignments/"]["post"]["responses"]["409"] == {"$ref": "#/components/responses/CONFLICT"}
    assert "404" in paths["/api/v1/guidelines/current"]["get"]["responses"]
    assert paths["/api/v1/runs/"]["post"]["responses"]["409"] == {"$ref": "#/components/responses/CONFLICT"}
    # A run's days are bounded as periods are: the schema said 9999-12-30, which the server refused
    run_days = client.get(DOCUMENT).get_json()["components"]["schemas"]["RunRequest"]["properties"]
    assert run_days["to"]["x-maximum"] == run_days["from"]["x-maximum"] == "9998-12-31"


def test_a_method_a_path_does_not_take_is_405_naming_those_it_does(client):
    answer = client.delete("/api/v1/employees/1")
    assert answer.status_code == 405 and set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert answer.get_json()["code"] == 405
    page = client.put("/login")  # a page too
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def client_operations(app) -> set[str]:
    """Every operation of the served document, as schemathesis labels them (``GET /api/v1/teams/``)."""
    paths = app.test_client().get(DOCUMENT).get_json()["paths"]
    return {f"{method.upper()} {path}" for path, operations in paths.items() for method in operations
            if method != "parameters"}


def _end_session() -> None:
    # The worked example holds an app context open; end each request's session as a served request would.
    session = g.pop("plaudit_session", None)
    if session is not None:
        session.close()


def _known_ids(example, run_id) -> dict:
    """Path parameters that name rows which exist, so cases reach past the 404 of a random id."""
    with transaction() as session:
        hr = session.get(User, example.hr)
        shopper = User(email="shopper@example.com", name="Sam Shopper", password_hash=hr.password_hash)
        shopper.roles = ["shopper"]
        session.add(shopper)
        assignment = assign_visit(session, hr, shopper, employee_id=example.ids["ann"])
        first = lambda model, *where: session.scalar(select(func.min(model.id)).where(*where))
        return {"assignment_id": assignment.id, "employee_id": example.ids["ann"], "team_id": first(Team), "run_id": run_id, "version": 1,
                "feedback_id": first(Feedback, Feedback.employee_id == example.ids["bob"]),
                "recommendation_id": first(Recommendation, Recommendation.status == "proposed"),
                "slug": "post_ticket_survey"}


def test_schemathesis_finds_no_server_error(app, worked_example):
    known = _known_ids(worked_example, worked_example.run())
    with transaction() as session:
        row, plain = ApiToken.issue(session.scalar(select(User).where(User.email == "hr@example.com")),
                                    "schemathesis", list(API_SCOPES))
        session.add(row)
    auth = {"Authorization": f"Bearer {plain}"}
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    per_operation: Counter[str] = Counter()

    def run(strategy, label: str) -> None:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def call(case):
            _end_session()
            try:
                statuses[case.call_and_validate(headers=auth, checks=[not_a_server_error]).status_code] += 1
                per_operation[label] += 1
            finally:
                _end_session()

        call()

    for operation in operations:
        run(operation.as_strategy(GenerationMode.POSITIVE), operation.label)
        run(operation.as_strategy(GenerationMode.NEGATIVE), operation.label)
        names = {parameter.name for parameter in operation.path_parameters}
        if names:
            run(operation.as_strategy(path_parameters={name: known[name] for name in names}), operation.label)
    cases = sum(statuses.values())
    # The whole API: every operation the document lists (the test above holds it to the URL map) was called.
    # The figure for docs/security.md is printed (derandomised, so the same on every run), about 20 s per
    # backend: enough to reach every answer the operations give.
    documented = client_operations(app)
    assert set(per_operation) == documented, f"operations never called: {sorted(documented - set(per_operation))}"
    print(f"schemathesis: {cases} cases over {len(operations)} operations: {dict(sorted(statuses.items()))}")
    assert not [status for status in statuses if status >= 500], statuses
    assert cases > 40 * len(operations), f"schemathesis generated only {cases} cases"
    assert {200, 202, 401, 404, 409, 422} <= set(statuses), statuses


def test_every_list_answers_its_pagination_header_as_the_document_describes_it(app, worked_example):
    """schemathesis reads each documented response header against its schema: X-Pagination holds JSON."""
    from schemathesis.specs.openapi.checks import response_headers_conformance

    worked_example.run()
    with transaction() as session:
        row, plain = ApiToken.issue(session.scalar(select(User).where(User.email == "hr@example.com")),
                                    "headers", list(API_SCOPES))
        session.add(row)
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    paginated = [operation for operation in (result.ok() for result in schema.get_all_operations())
                 if operation.method.upper() == "GET"
                 and "X-Pagination" in (operation.definition.raw["responses"].get("200", {}).get("headers") or {})]
    assert len(paginated) >= 5, [operation.label for operation in paginated]
    for operation in paginated:
        if list(operation.path_parameters or ()):  # lists under a row (a run's results): the row's own test
            continue
        _end_session()
        try:
            case = operation.Case(query={"page": 1})
            response = case.call(headers={"Authorization": f"Bearer {plain}"})
            assert response.status_code == 200 and "x-pagination" in response.headers, (operation.label, response.text)
            case.validate_response(response, checks=[response_headers_conformance])
        finally:
            _end_session()
