"""Training needs from mystery reports: an employee's weak section against the organisation, in the run.

Sam visits Ann twice and Olga visits Dan twice (all approved); Olga's third visit to Dan waits for review.
Service is (greeted + courtesy - 1) of 5 points: Ann 1.0 and 0.8 (90), Dan 0.4 and 0.2 (30), the organisation
0.6 (60), so Dan is 30 points short; product knowledge is 2 of 3 for everyone.
"""
from __future__ import annotations

import re
from html import unescape

import pytest
from flask import g
from sqlalchemy import select

from appraisal.digests import render_digest
from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalResult, AppraisalRun, Recommendation
from channels.mystery_shopper.assignments import create_assignment
from channels.mystery_shopper.reports import approve_report, submit_report
from channels.mystery_shopper.training import training_needs
from core import hookimpl
from core.db import transaction
from core.models import User
from tests.channels.mystery_shopper.visits import (
    DUE,
    GOOD_ANSWERS,
    VISIT_FROM,
    VISIT_UNTIL,
    proof,
    send_shoppers,
)
from tests.fixtures.appraisal import GUIDELINE, WEEK
from tests.fixtures.org import sign_in

APPROX = {"abs": 1e-9}
#: (shopper, employee, greeted, courtesy 1-5, approved) for each visit, in order.
VISITS = [("sam", "ann", "1", 5, True), ("sam", "ann", "1", 4, True),
          ("olga", "dan", "0", 3, True), ("olga", "dan", "1", 1, True),
          ("olga", "dan", "0", 1, False)]  # submitted, not approved: it must not count
SERVICE_NEED = {"area": "mystery_section", "name": "Service", "metric": "mystery_section",
                "value": pytest.approx(30, **APPROX), "benchmark": pytest.approx(60, **APPROX), "n": 2,
                "gap": pytest.approx(-30, **APPROX), "org_people": 2}  # Ann's reports and Dan's


def _report(session, visits, example, shopper, employee, greeted, courtesy, first):
    """Submit one visit's report through the channel's own functions; return the report's id."""
    hr = session.get(User, example.hr)
    if first:  # send_shoppers made each shopper's first assignment
        assignment_id = visits.assignments[shopper]
    else:
        assignment_id = create_assignment(
            session, hr, template_id=visits.template_id, shopper_id=visits.shoppers[shopper],
            employee_id=example.ids[employee], scenario="Ask about a savings account again.", due_at=DUE,
            visit_from=VISIT_FROM, visit_until=VISIT_UNTIL).id
    answers = GOOD_ANSWERS | {"Q1": greeted, "Q2": courtesy}
    return submit_report(session, assignment_id, session.get(User, visits.shoppers[shopper]), answers, proof()).id


@pytest.fixture
def reports(worked_example):
    """Every visit of VISITS reported, and the approved ones approved by HR: {index: report id}."""
    visits = send_shoppers(worked_example)
    ids, seen = {}, set()
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        for index, (shopper, employee, greeted, courtesy, approved) in enumerate(VISITS):
            ids[index] = _report(session, visits, worked_example, shopper, employee, greeted, courtesy,
                                 first=shopper not in seen)
            seen.add(shopper)
            if approved:
                approve_report(session, ids[index], hr)
    return ids


def _words(html: str) -> str:
    """The text of ``html`` without its tags, its white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def _needs(run_id: int) -> dict[int, list[dict]]:
    with transaction() as session:
        return dict(session.execute(select(AppraisalResult.employee_id, AppraisalResult.training_needs)
                                    .where(AppraisalResult.run_id == run_id)).all())


def _trainings(run_id: int) -> dict[int, list[tuple[str, str, str]]]:
    with transaction() as session:
        rows = session.execute(select(Recommendation.employee_id, Recommendation.source, Recommendation.reason,
                                      Recommendation.status)
                               .where(Recommendation.run_id == run_id, Recommendation.kind == "training")
                               .order_by(Recommendation.id)).all()
    found: dict[int, list[tuple[str, str, str]]] = {}
    for employee_id, source, reason, status in rows:
        found.setdefault(employee_id, []).append((source, reason, status))
    return found


def test_the_weaker_employees_section_is_a_training_need_and_a_recommendation(worked_example, reports):
    run_id = worked_example.run()
    ids = worked_example.ids
    needs = _needs(run_id)
    # Merged with the run's own need (Refunds, 42.9 below the org's mean), the weakest first.
    assert [(n["area"], n["name"]) for n in needs[ids["dan"]]] == [("ticket_category", "Refunds"),
                                                                   ("mystery_section", "Service")]
    assert needs[ids["dan"]][1] == SERVICE_NEED
    assert needs[ids["ann"]] == []  # 30 points above the organisation: no need
    assert needs[ids["bob"]] == [{"area": "ticket_category", "name": "Billing", "metric": "csat_percent",
                                  "value": pytest.approx(200 / 3, **APPROX), "benchmark": 87.5, "n": 3,
                                  "gap": pytest.approx(200 / 3 - 87.5, **APPROX), "org_people": 3}]  # unchanged
    assert _trainings(run_id)[ids["dan"]] == [
        ("training:ticket_category",
         "training on Refunds: CSAT % 0.0 over 2 item(s) against the org's mean 42.9", "approved"),
        # Only Ann's reports and Dan's make the section's mean of 60: read by Dan, it would be Ann's own 90.
        ("training:mystery_section", ("training on Service (mystery section): 30.0 over 2 report(s), below the "
                                      "org's mean (not shown: it pools fewer than 2 colleagues)"), "approved")]
    assert ids["ann"] not in _trainings(run_id)


def test_the_need_reads_well_on_the_report_page_and_in_the_digest(worked_example, reports, app, client):
    @app.teardown_request
    def _end_session(_exc):  # as in production; else the request's SQLite session keeps the write lock
        session = g.pop("plaudit_session", None)
        if session is not None:
            session.close()

    run_id = worked_example.run()
    assert sign_in(client, "dan@example.com").status_code == 302
    page = _words(client.get("/report").get_data(as_text=True))
    # The section's mean pools Ann's reports and Dan's alone: Dan is not shown it (it would be Ann's score)
    withheld = ("Service (mystery section): 30.0 over 2 reports against the organisation's mean (not shown: it "
                "pools fewer than 2 colleagues)")
    assert withheld in page and "against 60.0" not in page and "mean 60.0" not in page
    assert "Refunds (ticket category): 0.0 over 2 items against 42.9, the organisation's mean for this category" \
        in page
    assert ("training on Service (mystery section): 30.0 over 2 report(s), below the org's mean (not shown: it "
            "pools fewer than 2 colleagues)") in page
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        _, text, html = render_digest(session, run, "employee", worked_example.ids["dan"])
    for body in (text, _words(html)):
        assert withheld in body and "against 60.0" not in body


def test_below_the_guidelines_min_n_a_section_is_no_need(worked_example, reports):
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        version = publish_guideline(session, GUIDELINE | {"training": GUIDELINE["training"] | {"min_n": 3}},
                                    actor=hr, note="three reports before a need").version
    run_id = worked_example.run(version)
    dan = worked_example.ids["dan"]
    # Billing's 3 items still make Bob's need; Dan's 2 Refunds items and 2 reports are too few now.
    assert _needs(run_id)[dan] == []
    assert dan not in _trainings(run_id)


def test_an_unapproved_report_does_not_count_until_approved_and_a_run_keeps_its_snapshot(worked_example, reports):
    run_id = worked_example.run()
    dan = worked_example.ids["dan"]
    assert _needs(run_id)[dan][1] == SERVICE_NEED  # the third visit (service 0) waits for review
    with transaction() as session:
        approve_report(session, reports[4], session.get(User, worked_example.hr))
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        settings = run.guideline.document["training"]
        # The run's snapshot is what it stored; today's data counts the third report: 0.2 over 3, org 0.48.
        snapshot = training_needs(session, WEEK.start, WEEK.end, run.feedback_watermark, [dan], settings)
        today = training_needs(session, WEEK.start, WEEK.end, 10**9, [dan], settings)
    assert snapshot == {dan: [SERVICE_NEED]}
    assert today[dan][0]["n"] == 3 and today[dan][0]["value"] == pytest.approx(20, **APPROX)
    assert today[dan][0]["benchmark"] == pytest.approx(48, **APPROX)
    later = _needs(worked_example.run())[dan]
    assert later[1] == today[dan][0] | {"gap": pytest.approx(-28, **APPROX)}


def test_a_run_without_the_mystery_plugin_works_as_before(worked_example, reports, make_app):
    trimmed = make_app(PLUGINS_BLOCKED=["mystery_shopper"])
    with trimmed.app_context():
        run_id = worked_example.run()
        needs = _needs(run_id)
    assert [(n["area"], n["name"]) for n in needs[worked_example.ids["dan"]]] == [("ticket_category", "Refunds")]


def test_a_malformed_need_from_a_plugin_is_refused_and_logged(worked_example, make_app, caplog):
    ann = worked_example.ids["ann"]

    class Careless:
        @hookimpl
        def training_needs(self, employee_ids):
            return {ann: [{"area": "coaching_notes", "name": "Empathy", "metric": "notes", "value": 40,
                           "benchmark": 70, "n": 4, "gap": -30},
                          {"area": "coaching_notes", "name": "Tone", "value": "low"}],
                    999_999: [{"area": "coaching_notes", "name": "Nobody", "metric": "notes", "value": 1,
                               "benchmark": 2, "n": 1, "gap": -1}]}

    app = make_app(extra_plugins={"careless": Careless()})
    with app.app_context():
        run_id = worked_example.run()
        with transaction() as session:
            reasons = list(session.scalars(select(Recommendation.reason).where(
                Recommendation.run_id == run_id, Recommendation.employee_id == ann,
                Recommendation.source == "training:coaching_notes")))
    assert _needs(run_id)[ann] == [{"area": "coaching_notes", "name": "Empathy", "metric": "notes",
                                    "value": 40.0, "benchmark": 70.0, "n": 4, "gap": -30.0}]
    assert reasons == ["training on Empathy (coaching notes): notes 40.0 over 4 item(s) against a benchmark of 70.0"]
    assert "plugin careless found the training need" in caplog.text and "'Tone'" in caplog.text


def test_a_visit_from_before_someone_joined_is_no_training_need_of_theirs(worked_example, reports):
    """Dan's joining day given after his visits were reported: the run counted them for nobody, and his weak
    section of those visits was still a training need and a training recommendation."""
    from datetime import date

    from core.models import Employee

    with transaction() as session:
        session.get(Employee, worked_example.ids["dan"]).started_on = date(2026, 11, 7)  # after every visit
    needs = _needs(worked_example.run())
    assert "mystery_section" not in {need["area"] for need in needs[worked_example.ids["dan"]]}
