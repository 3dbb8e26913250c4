"""The agencies' API: HR's token assigns shoppers, each shopper's own token reports, and never on another's."""
# ruff: noqa: F811 -- tests take the client fixture imported from tests.web.api_support as an argument
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from channels.mystery_shopper.demo import TEMPLATE
from channels.mystery_shopper.models import Assignment, Report
from channels.mystery_shopper.reports import UNMATCHED
from channels.mystery_shopper.template import publish_template
from core.db import transaction
from core.models import ApiToken, AuditEntry, Employee, User
from tests.fixtures.app import row_counts
from tests.web.api_support import client  # noqa: F401 -- each request with a session of its own

V1 = "/api/v1/mystery"
VISIT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
ANSWERS = {"W1": "yes", "W2": 4, "S1": "yes", "S2": "full", "S4": "no", "P1": "yes"}
INTEGRITY = {"identity_revealed": False, "knows_employee": False, "followed_scenario": True}


@pytest.fixture
def agency(worked_example):
    """The worked example with the demo template published and two shoppers; ``token(email, scopes)``."""
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        publish_template(session, "branch_visit", "Branch visit", TEMPLATE, actor=hr)
        for email, name in (("sam@agency.test", "Sam Shopper"), ("kim@agency.test", "Kim Shopper")):
            shopper = User(email=email, name=name, password_hash=hr.password_hash)
            shopper.roles = ["shopper"]
            session.add(shopper)

    def token(email: str, scopes) -> dict:
        with transaction() as session:
            row, plain = ApiToken.issue(session.scalar(select(User).where(User.email == email)), "agency", scopes)
            session.add(row)
        return {"Authorization": f"Bearer {plain}"}

    worked_example.token = token
    return worked_example


def _assignment(**changes) -> dict:
    body = {"template": "branch_visit", "shopper": "sam@agency.test", "scenario": "Ask about moving a plan.",
            "visit_from": VISIT.isoformat(), "visit_until": (VISIT + timedelta(days=2)).isoformat(),
            "due_at": (VISIT + timedelta(days=4)).isoformat()}
    return {**body, **changes}


def _report(**changes) -> dict:
    return {"answers": ANSWERS, "visited_at": "2026-11-03T15:30:00+00:00", "receipt_number": "R-1042",
            "integrity": INTEGRITY, **changes}


def _create(client, example, **changes) -> dict:
    hr = example.token("hr@example.com", ["mystery:assign"])
    changes = {"employee": example.ids["ann"], "external_ref": "AG-1", **changes}
    response = client.post(f"{V1}/assignments/", json=_assignment(**changes),
                           headers=hr)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == f"{V1}/assignments/{response.get_json()['id']}"  # where to read it
    return response.get_json()


def test_hr_token_creates_an_assignment_audited(client, agency):
    created = _create(client, agency)
    assert created["shopper"] == "sam@agency.test" and created["employee"] == "Ann"
    assert created["template"] == "branch_visit" and created["template_version"] == 1
    assert created["report_status"] is None and created["external_ref"] == "AG-1"
    assert [q["key"] for q in created["questions"]["questions"]][:2] == ["W1", "W2"]
    with transaction() as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "mystery_assignment.created"))
        assert audit.actor_id == agency.hr and audit.entity_id == str(created["id"])
    # the same reference again is a conflict, not a second visit
    again = client.post(f"{V1}/assignments/", json=_assignment(employee=agency.ids["ann"], external_ref="AG-1"),
                        headers=agency.token("hr@example.com", ["mystery:assign"]))
    assert again.status_code == 409 and "external_ref" in again.get_json()["message"]


def test_an_assignment_at_fault_in_several_fields_names_them_all_at_once(client, agency):
    """A client took four round trips to learn of four mistakes."""
    body = _assignment(template="nope", shopper="hr@example.com", employee=999999, scenario=" ")
    answer = client.post(f"{V1}/assignments/", json=body, headers=agency.token("hr@example.com", ["mystery:assign"]))
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]["json"]) == {"template", "shopper", "employee", "scenario"}
    assert "template: no report template 'nope'" in answer.get_json()["message"]


def test_the_shopper_submits_a_report_that_waits_for_review(client, agency):
    assignment = _create(client, agency)
    sam = agency.token("sam@agency.test", ["mystery:read", "mystery:submit"])
    listed = client.get(f"{V1}/assignments/", headers=sam).get_json()
    assert [a["id"] for a in listed] == [assignment["id"]]
    response = client.post(f"{V1}/assignments/{assignment['id']}/report", json=_report(), headers=sam)
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["status"] == "submitted" and report["receipt_number"] == "R-1042"
    assert report["answers"] == ANSWERS  # S3 is hidden by the skip logic, C1 left out
    read = client.get(f"{V1}/assignments/{assignment['id']}", headers=sam).get_json()
    assert read["report_status"] == "submitted" and read["score"] is None  # not approved: nothing counts yet
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "mystery_report.submitted")) == 1
    # submitted: it waits for a reviewer and cannot be sent again
    again = client.post(f"{V1}/assignments/{assignment['id']}/report", json=_report(), headers=sam)
    assert again.status_code == 422 and "report" in again.get_json()["errors"]["json"]


def test_a_shopper_can_neither_read_nor_submit_another_shoppers_assignment(app, client, agency):
    assignment = _create(client, agency)
    kim = agency.token("kim@agency.test", ["mystery:read", "mystery:submit"])
    assert client.get(f"{V1}/assignments/{assignment['id']}", headers=kim).status_code == 403
    assert client.get(f"{V1}/assignments/", headers=kim).get_json() == []
    before = row_counts(app)
    response = client.post(f"{V1}/assignments/{assignment['id']}/report", json=_report(), headers=kim)
    assert response.status_code == 403
    assert "another shopper's" in response.get_json()["message"]
    assert row_counts(app) == before
    # HR reads every assignment, but reports on none: only the shopper does
    hr = agency.token("hr@example.com", ["mystery:read", "mystery:submit"])
    assert client.get(f"{V1}/assignments/{assignment['id']}", headers=hr).status_code == 200
    assert client.post(f"{V1}/assignments/{assignment['id']}/report", json=_report(), headers=hr).status_code == 403
    assert client.get(f"{V1}/assignments/{assignment['id'] + 1000}", headers=kim).status_code == 404


def test_a_visit_outside_the_window_is_refused_naming_the_field(app, client, agency):
    assignment = _create(client, agency)
    sam = agency.token("sam@agency.test", ["mystery:submit"])
    before = row_counts(app)
    response = client.post(f"{V1}/assignments/{assignment['id']}/report",
                           json=_report(visited_at="2026-11-06T10:00:00Z"), headers=sam)
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"]["json"]["visited_at"] == [
        "the visit must be between 2026-11-03 09:00 UTC and 2026-11-05 09:00 UTC, the assignment's visit window"]
    assert body["message"].startswith("visited_at: the visit must be between")
    assert row_counts(app) == before


def test_bad_bodies_are_refused_naming_every_field(app, client, agency):
    assignment = _create(client, agency)
    hr = agency.token("hr@example.com", ["mystery:assign"])
    sam = agency.token("sam@agency.test", ["mystery:submit"])
    before = row_counts(app)

    def errors(url, body, headers) -> dict:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422, (body, response.get_json())
        return response.get_json()["errors"]["json"]

    missing = errors(f"{V1}/assignments/", {}, hr)
    assert {"template", "shopper", "scenario", "due_at", "visit_from", "visit_until"} <= set(missing)
    assert "visit_until" in errors(f"{V1}/assignments/", _assignment(visit_until=VISIT.isoformat()), hr)
    assert errors(f"{V1}/assignments/", _assignment(template="no_such", employee=agency.ids["bob"]), hr) == {
        "template": ["no report template 'no_such'"]}
    # An account that is no shopper and no account at all read alike: a token cannot tell accounts apart
    not_a_shopper = errors(f"{V1}/assignments/", _assignment(shopper="ann@example.com", employee=agency.ids["bob"]), hr)
    nobody = errors(f"{V1}/assignments/", _assignment(shopper="nobody@example.com", employee=agency.ids["bob"]), hr)
    assert not_a_shopper["shopper"] == ["no active shopper account has the e-mail ann@example.com"]
    assert nobody["shopper"] == ["no active shopper account has the e-mail nobody@example.com"]
    assert "location" in errors(f"{V1}/assignments/", _assignment(employee=agency.ids["bob"], location="Branch"), hr)
    assert "employee" in errors(f"{V1}/assignments/", _assignment(), hr)  # nobody to visit
    assert "due_at" in errors(f"{V1}/assignments/", _assignment(due_at=VISIT.isoformat(),
                                                                employee=agency.ids["bob"]), hr)

    report_url = f"{V1}/assignments/{assignment['id']}/report"
    assert {"answers", "visited_at"} <= set(errors(report_url, {}, sam))
    wrong = errors(report_url, _report(answers={**ANSWERS, "W2": 9, "S2": "maybe", "Z9": "yes"},
                                       receipt_number="", integrity={"followed_scenario": True}), sam)
    assert set(wrong) == {"answers.W2", "answers.S2", "answers.Z9", "receipt_number",
                          "integrity.identity_revealed", "integrity.knows_employee"}
    assert wrong["answers.W2"] == ["choose a whole number from 1 to 5"]
    missing_answers = errors(report_url, _report(answers={"W1": "yes"}), sam)
    assert {"answers.W2", "answers.S1", "answers.P1"} <= set(missing_answers)
    assert "integrity" in errors(report_url, _report(integrity={"bribed": True}), sam)
    assert "photo" in errors(report_url, _report(photo="not base64!"), sam)
    assert "photos.W1" in errors(report_url, _report(photos={"W1": "aGVsbG8="}), sam)
    assert row_counts(app) == before


@pytest.mark.parametrize("scopes, status", [(["mystery:read"], 403), (["mystery:assign"], 403)])
def test_scopes_and_roles_decide_who_calls(client, agency, scopes, status):
    assignment = _create(client, agency)
    url = f"{V1}/assignments/{assignment['id']}/report"
    assert client.post(url, json=_report()).status_code == 401
    assert client.post(url, json=_report(), headers={"Authorization": "Bearer pld_nope"}).status_code == 401
    assert client.post(url, json=_report(), headers=agency.token("sam@agency.test", scopes)).status_code == status


def test_a_shoppers_token_is_worth_only_the_shopper_scopes(client, agency):
    # issued with more (say, before the CLI refused it): the extra scopes are refused at use
    sam = agency.token("sam@agency.test", ["mystery:assign", "feedback:write", "org:read"])
    for method, url in (("POST", f"{V1}/assignments/"), ("POST", "/api/v1/channels/post_ticket_survey/feedback"),
                        ("GET", "/api/v1/employees/")):
        response = client.open(url, method=method, json={}, headers=sam)
        assert response.status_code == 403, url
        assert "a shopper's token may use only mystery:read and mystery:submit" in response.get_json()["message"]
    # a manager (no token role at all) gets nothing, mystery scopes included
    mia = agency.token("mia@example.com", ["mystery:read"])
    assert client.get(f"{V1}/assignments/", headers=mia).status_code == 403
    # an employee's account is no shopper's either
    ann = agency.token("ann@example.com", ["mystery:read"])
    assert client.get(f"{V1}/assignments/", headers=ann).status_code == 403


def test_the_cli_issues_a_shopper_only_the_shopper_scopes(app, agency):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["tokens", "create", "sam@agency.test", "--name", "agency",
                                  "--scope", "mystery:submit", "--scope", "feedback:write"])
    assert refused.exit_code == 2 and "their token may hold only mystery:read and mystery:submit" in refused.output
    issued = runner.invoke(args=["tokens", "create", "sam@agency.test", "--name", "agency",
                                 "--scope", "mystery:read", "--scope", "mystery:submit"])
    assert issued.exit_code == 0, issued.output


def test_lists_filter_by_report_state_and_reference(client, agency):
    first = _create(client, agency)
    second = _create(client, agency, external_ref="AG-2", employee=agency.ids["bob"])
    sam = agency.token("sam@agency.test", ["mystery:read", "mystery:submit"])
    client.post(f"{V1}/assignments/{first['id']}/report", json=_report(), headers=sam)
    hr = agency.token("hr@example.com", ["mystery:read"])
    ids = lambda **query: [a["id"] for a in client.get(f"{V1}/assignments/", query_string=query,
                                                       headers=hr).get_json()]
    assert ids() == [first["id"], second["id"]]
    assert ids(report_status="submitted") == [first["id"]]
    assert ids(report_status="none") == [second["id"]]
    assert ids(external_ref="AG-2") == [second["id"]]
    csv = client.get(f"{V1}/assignments/", query_string={"format": "csv"}, headers=hr)
    assert csv.mimetype == "text/csv" and "AG-2" in csv.get_data(as_text=True)
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Assignment)) == 2
        assert session.scalar(select(func.count()).select_from(Report)) == 1


def test_at_a_location_only_the_badge_name_is_taken_and_every_miss_reads_the_same(client, agency):
    assignment = _create(client, agency, employee=None, location="Riverside branch", external_ref="AG-2")
    sam = agency.token("sam@agency.test", ["mystery:submit"])
    url = f"{V1}/assignments/{assignment['id']}/report"
    with transaction() as session:  # a second Ann: her name alone no longer says who served
        session.add(Employee(name="Ann", email="ann2@example.com"))
    by_id = client.post(url, json=_report(served_by=agency.ids["bob"]), headers=sam)
    assert by_id.status_code == 422 and "served_by" in by_id.get_json()["errors"]["json"]  # an id is no name
    misses = [client.post(url, json=_report(served_by=name), headers=sam).get_json()["errors"]["json"]["served_by"]
              for name in ("Zed", "Ann", str(agency.ids["bob"]))]
    assert misses == [[UNMATCHED]] * 3
    served = client.post(url, json=_report(served_by="bob"), headers=sam)
    assert served.status_code == 201 and served.get_json()["served_by"] == agency.ids["bob"]


def test_a_huge_number_is_refused_naming_the_question(client, agency):
    assignment = _create(client, agency)
    sam = agency.token("sam@agency.test", ["mystery:submit"])
    response = client.post(f"{V1}/assignments/{assignment['id']}/report",
                           json=_report(answers={**ANSWERS, "S5": 10**400}), headers=sam)
    assert response.status_code == 422
    assert response.get_json()["errors"]["json"] == {"answers.S5": ["give a number"]}
