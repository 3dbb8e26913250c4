"""The workflow's domain functions: assigning, answering, submitting and reviewing, with who may do each."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from channels.mystery_shopper.answers import answer_problems
from channels.mystery_shopper.assignments import (
    AssignmentError,
    assignments_for,
    create_assignment,
)
from channels.mystery_shopper.models import Assignment
from channels.mystery_shopper.reports import (
    ReportError,
    approve_report,
    return_report,
    save_draft,
    submit_report,
)
from core.models import AuditEntry, Feedback, User
from tests.channels.mystery_shopper.visits import (
    DUE,
    GOOD_ANSWERS,
    GOOD_SCORE,
    TEMPLATE,
    VISIT_FROM,
    VISIT_UNTIL,
    proof,
    send_shoppers,
)


@pytest.fixture
def visits(worked_example):
    return send_shoppers(worked_example)


def _assign(session, actor, visits, **changes):
    fields = {"template_id": visits.template_id, "shopper_id": visits.shoppers["sam"], "scenario": "Ask.",
              "due_at": DUE, "visit_from": VISIT_FROM, "visit_until": VISIT_UNTIL} | changes
    return create_assignment(session, actor, **fields)


def test_answers_are_checked_by_kind_for_drafts_and_for_completeness_on_submission():
    wrong = {"Q1": "maybe", "Q2": 7, "Q3": "ten", "Q4": ["fair"], "Q9": "1"}
    assert answer_problems(TEMPLATE, wrong, final=False) == {
        "Q9": "this is not a question of the report's template", "Q1": "choose one of: Yes, No",
        "Q2": "choose a whole number from 1 to 5", "Q3": "give a number",
        "Q4": "choose one of: Well, Fairly, Poorly, Did not come up"}
    assert answer_problems(TEMPLATE, {"Q2": 3}, final=False) == {}
    assert answer_problems(TEMPLATE, {"Q2": 3}, final=True) == {
        "Q1": "choose an answer", "Q3": "answer this question", "Q4": "choose an answer", "Q6": "choose an answer"}
    # Q5 is asked only after a poor answer to Q4, and then it must be answered
    assert "Q5" not in answer_problems(TEMPLATE, GOOD_ANSWERS, final=True)
    assert answer_problems(TEMPLATE, GOOD_ANSWERS | {"Q4": "poor"}, final=True) == {"Q5": "answer this question"}


def test_assignments_name_the_wrong_field_and_keep_managers_to_their_teams(session, worked_example, visits):
    hr, mia = session.get(User, worked_example.hr), session.get(User, worked_example.manager)
    ids = worked_example.ids
    for changes, field in [({"template_id": 999}, "template_id"), ({"shopper_id": worked_example.hr}, "shopper_id"),
                           ({}, "employee_id"), ({"employee_id": ids["ann"], "scenario": " "}, "scenario"),
                           ({"employee_id": ids["ann"], "visit_until": VISIT_FROM}, "visit_until"),
                           ({"employee_id": ids["ann"], "due_at": VISIT_UNTIL - timedelta(hours=1)}, "due_at")]:
        with pytest.raises(AssignmentError) as refused:
            _assign(session, hr, visits, **changes)
        assert refused.value.field == field, changes
    with pytest.raises(PermissionError):
        _assign(session, mia, visits, employee_id=ids["dan"])  # Billing is not Mia's
    with pytest.raises(PermissionError):
        _assign(session, mia, visits, location="Riverside branch")  # anyone there may serve: HR's call
    assignment = _assign(session, mia, visits, employee_id=ids["bob"])
    session.commit()
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "mystery_assignment.created",
                                                    AuditEntry.entity_id == str(assignment.id)))
    assert audit.actor_id == mia.id and audit.after["employee_id"] == ids["bob"]

    sam, olga = (session.get(User, visits.shoppers[name]) for name in ("sam", "olga"))
    seen = lambda user: sorted(session.scalars(assignments_for(session, user).with_only_columns(Assignment.id)))
    assert seen(sam) == sorted([visits.assignments["sam"], assignment.id])
    assert seen(olga) == [visits.assignments["olga"]]
    assert seen(mia) == sorted([visits.assignments["sam"], assignment.id])  # Ann and Bob, not Dan
    assert len(seen(hr)) == 3
    assert seen(session.get(User, worked_example.users["ann"])) == []


def test_a_report_is_the_shoppers_own_inside_the_window_and_counts_once_approved(session, worked_example, visits):
    sam, olga = (session.get(User, visits.shoppers[name]) for name in ("sam", "olga"))
    mia, hr = session.get(User, worked_example.manager), session.get(User, worked_example.hr)
    assignment = visits.assignments["sam"]
    with pytest.raises(PermissionError):
        submit_report(session, assignment, olga, GOOD_ANSWERS, proof())
    session.rollback()
    with pytest.raises(ReportError) as late:
        submit_report(session, assignment, sam, GOOD_ANSWERS, proof(visited_at=VISIT_UNTIL + timedelta(minutes=1)))
    assert late.value.problems == {"visited_at": "the visit must be between 2026-11-03 09:00 UTC and 2026-11-06 "
                                                 "18:00 UTC, the assignment's visit window"}
    session.rollback()
    save_draft(session, assignment, sam, {"Q2": 4}, {"visited_at": None})
    session.commit()
    report = submit_report(session, assignment, sam, GOOD_ANSWERS, proof())
    session.commit()
    assert report.status == "submitted" and report.score is None

    with pytest.raises(ReportError) as no_comment:
        return_report(session, report.id, mia, "")
    assert set(no_comment.value.problems) == {"comment"}
    with pytest.raises(PermissionError):
        approve_report(session, report.id, session.get(User, worked_example.users["ann"]))  # about herself
    session.rollback()
    approve_report(session, report.id, mia)
    session.commit()
    assert report.status == "approved" and report.score == pytest.approx(GOOD_SCORE)
    items = session.scalars(select(Feedback).where(Feedback.channel == "mystery_shopper",
                                                   Feedback.kind == "mystery_report")).all()
    assert [(i.employee_id, i.value) for i in items] == [(worked_example.ids["ann"], pytest.approx(GOOD_SCORE * 100))]
    with pytest.raises(ReportError):
        approve_report(session, report.id, hr)  # decided already
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "ms_reports")
                              .order_by(AuditEntry.id)).all()
    assert actions == ["mystery_report.draft_saved", "mystery_report.submitted", "mystery_report.approved"]
