"""A period-level finding (surveys suppressed on an employee's tickets) is flagged once, audited, and holds
the employee's incentives until HR decides it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from appraisal.models import AppraisalResult, Recommendation
from appraisal.review import decide_flag
from core.channel import IdentityRef
from core.db import transaction
from core.models import AuditEntry, EmployeeIdentity, Feedback, Flag, User
from core.tickets import TicketUpdate, note_surveys, upsert_tickets
from tests.fixtures.appraisal import WEEK


def _solved_tickets(session, employee_id, count, surveyed, prefix):
    """Tickets the helpdesk says ``employee_id`` solved, stored as a delivery stores them."""
    session.add(EmployeeIdentity(employee_id=employee_id, provider="desk", external_id=prefix))
    updates = [TicketUpdate(provider="test", external_id=f"{prefix}{index}", assignee=IdentityRef("desk", prefix),
                            opened_at=WEEK.start, resolved_at=WEEK.start + timedelta(hours=index + 1))
               for index in range(count)]
    for ticket in sorted(upsert_tickets(session, updates).values(), key=lambda t: t.resolved_at):
        index = ticket.external_id.removeprefix(prefix)
        if surveyed:
            answered = ticket.resolved_at + timedelta(hours=1)
            session.add(Feedback(channel="test", kind="ces", external_id=f"{prefix}-answer-{index}", value=6,
                                 scale_min=1, scale_max=7, employee_id=employee_id, ticket_id=ticket.id,
                                 occurred_at=answered))
            note_surveys(session, {ticket.id: answered})  # as ingestion notes an answer about a ticket


def _bonus_of(session, run_id, employee_id):
    return session.scalar(select(Recommendation.amount).where(
        Recommendation.run_id == run_id, Recommendation.employee_id == employee_id, Recommendation.kind == "bonus"))


def test_suppressed_surveys_hold_incentives_until_hr_decides(worked_example):
    ann, bob = worked_example.ids["ann"], worked_example.ids["bob"]
    with transaction() as session:
        _solved_tickets(session, ann, 20, surveyed=True, prefix="a")   # every ticket surveyed
        _solved_tickets(session, bob, 20, surveyed=False, prefix="b")  # none: 0% against the org's 50%
    first = worked_example.run()
    with transaction() as session:
        [flag] = session.scalars(select(Flag).where(Flag.employee_id.is_not(None))).all()
        assert (flag.check, flag.employee_id, flag.period_start, flag.period_end) == (
            "suppressed_surveys", bob, WEEK.start, WEEK.end)
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "flag.raised", AuditEntry.entity_id == str(flag.id))) == 1
        result = session.scalar(select(AppraisalResult).where(AppraisalResult.run_id == first,
                                                              AppraisalResult.employee_id == bob))
        assert result.open_flags == 1
        assert _bonus_of(session, first, bob) is None  # Silver needs no open flags
        flag_id = flag.id
    worked_example.run()
    with transaction() as session:  # a second run finds the same thing and flags it no second time
        assert session.scalar(select(func.count()).select_from(Flag).where(Flag.employee_id.is_not(None))) == 1
        decide_flag(session, flag_id, session.get(User, worked_example.hr), uphold=False,
                    note="quota sampling: his tickets came late in the week")
    third = worked_example.run()
    with transaction() as session:
        assert session.scalar(select(AppraisalResult.open_flags).where(
            AppraisalResult.run_id == third, AppraisalResult.employee_id == bob)) == 0
        assert _bonus_of(session, third, bob) is not None


def test_an_undecided_flag_on_an_item_holds_incentives_too(worked_example, app):
    dan = worked_example.ids["dan"]
    with transaction() as session:
        item = session.scalar(select(Feedback).where(Feedback.employee_id == dan, Feedback.kind == "nps",
                                                     Feedback.value == 0))
        item.status = "quarantined"  # as a check leaves it: out of the numbers until HR decides
        session.add(Flag(feedback_id=item.id, check="self_rating", reason="rated by himself"))
    run_id = worked_example.run()
    with transaction() as session:
        result = session.scalar(select(AppraisalResult).where(AppraisalResult.run_id == run_id,
                                                              AppraisalResult.employee_id == dan))
        # NPS without the 0: 9 8 8 is (1 - 0)/3 = 33.3, below the minimum of 4 items: CSAT alone covers 60%
        # of the weight, more than the 50% the composite needs; 60 shrunk toward the org's 12/18 (Dan is alone
        # in Billing) by k = 2: (5*60 + 2*66.667)/7 = 1300/21.
        assert result.open_flags == 1 and result.composite == pytest.approx(1300 / 21, abs=1e-6)
        assert _bonus_of(session, run_id, dan) is None  # Silver wants no open flags
    # and HR's table says why, where it had shown nothing against his name
    with app.app_context():
        printed = app.test_cli_runner().invoke(args=["appraisal", "show", str(run_id)]).output
    dan_line = next(line for line in printed.splitlines() if " Dan " in line)
    assert "1 open flag(s) hold tiers back" in dan_line


def test_tickets_solved_before_someone_joined_are_not_held_against_them(worked_example):
    """Bob's joining day given after his solves were recorded: the check read those unsurveyed solves as his,
    and flagged his first week, holding his incentives."""
    from datetime import date

    from core.models import Employee

    ann, bob = worked_example.ids["ann"], worked_example.ids["bob"]
    with transaction() as session:
        _solved_tickets(session, ann, 20, surveyed=True, prefix="a")
        _solved_tickets(session, bob, 20, surveyed=False, prefix="b")  # all on Monday
        session.get(Employee, bob).started_on = date(2026, 11, 3)
    worked_example.run()
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Flag).where(Flag.employee_id == bob)) == 0
