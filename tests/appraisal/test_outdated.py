"""Which runs no longer show their period as it is: its feedback arrived, or changed in a way the run counted,
after the run was made (appraisal/outdated.py, Feedback.changed_at)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from appraisal.models import AppraisalRun
from appraisal.outdated import Changes, changes_since, outdated_run, outdated_runs
from appraisal.review import decide_dispute, decide_flag, raise_dispute
from core.db import transaction
from core.ingestion import ingest, revise_feedback
from core.models import Employee, Feedback, Ticket, TicketCategory, User, utcnow
from core.models.feedback import LATE
from core.privacy import erase_customer, identifier_refs
from core.ticket_categories import category_key, rename_category
from core.tickets import TicketUpdate, upsert_tickets
from tests.fixtures.appraisal import BEFORE, WEEK, utc
from tests.fixtures.payloads import survey


def _changes(run_id: int) -> Changes | None:
    with transaction() as session:
        return changes_since(session, [run_id]).get(run_id)


def _add(session, external_id: str, occurred_at, employee_id, status="accepted", value=5.0, **extra) -> Feedback:
    item = Feedback(channel="test", kind="csat", external_id=external_id, value=value, scale_min=1.0,
                    scale_max=5.0, employee_id=employee_id, occurred_at=occurred_at, status=status, **extra)
    session.add(item)
    session.flush()
    return item


def _first_item(session, who_id: int) -> Feedback:
    return session.scalars(select(Feedback).where(Feedback.employee_id == who_id,
                                                  Feedback.occurred_at >= WEEK.start).order_by(Feedback.id)).first()


def test_a_run_just_made_is_up_to_date(worked_example):
    assert _changes(worked_example.run()) is None


def test_an_item_of_the_period_arriving_later_makes_its_run_out_of_date(worked_example):
    run_id = worked_example.run()
    ann = worked_example.ids["ann"]
    with transaction() as session:
        _add(session, "late", utc(2026, 11, 6, 9), ann)
        _add(session, "next-week", utc(2026, 11, 9, 9), ann)  # another period
        _add(session, "held", utc(2026, 11, 6, 9), ann, status="quarantined")  # counts only once let through
        _add(session, "no-value", utc(2026, 11, 6, 9), ann, value=None)  # nothing to count
    changes = _changes(run_id)
    assert changes == Changes(arrived=1, changed=0) and str(changes) == "1 item arrived since"


def test_a_dispute_upheld_after_the_run_makes_it_out_of_date_and_raising_one_does_not(worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        item = _first_item(session, worked_example.ids["ann"])
        dispute = raise_dispute(session, item.id, session.get(User, worked_example.users["ann"]), "not my ticket")
        dispute_id = dispute.id
    assert _changes(run_id) is None  # the item keeps counting while the dispute is open
    with transaction() as session:
        decide_dispute(session, dispute_id, session.get(User, worked_example.hr), uphold=True, outcome="agreed")
    assert _changes(run_id) == Changes(arrived=0, changed=1)


def test_a_revised_answer_changes_the_run_and_an_identical_one_does_not(worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        item = _first_item(session, worked_example.ids["bob"])
        ext, value, occurred = item.external_id, item.value, item.occurred_at
        revise_feedback(session, "test", ext, value=value, comment=None, occurred_at=occurred)
    assert _changes(run_id) is None
    with transaction() as session:
        revise_feedback(session, "test", ext, value=1.0, comment="changed my mind", occurred_at=occurred)
    assert _changes(run_id) == Changes(arrived=0, changed=1)


def test_merging_two_categories_changes_their_items_and_a_new_name_alone_does_not(worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        refunds = set(session.scalars(select(Feedback.id).where(Feedback.ticket_category == "Refunds")))
        session.add_all([TicketCategory(key=category_key(name), name=name) for name in ("Refunds", "Billing")])
        rename_category(session, "Refunds", "Refunds and returns")
    assert _changes(run_id) is None  # the same items in the same group: no number moves
    with transaction() as session:
        rename_category(session, "Refunds and returns", "Billing")  # a bulk UPDATE: no ORM event to set it
    with transaction() as session:
        marked = set(session.scalars(select(Feedback.id).where(Feedback.changed_at > session.get(
            AppraisalRun, run_id).started_at)))
    assert refunds and marked == refunds
    assert _changes(run_id) == Changes(arrived=0, changed=len(refunds))


def test_a_ticket_delivered_again_changes_its_items_only_when_its_category_changes(worked_example):
    with transaction() as session:
        ticket = Ticket(provider="desk", external_id="77", category="Billing")
        session.add(ticket)
        session.flush()
        _add(session, "about-77", utc(2026, 11, 4, 9), worked_example.ids["dan"], ticket_ref="desk:77",
             ticket_id=ticket.id, ticket_category="Billing")
    run_id = worked_example.run()  # made after the item arrived: it counts it
    update = {"provider": "desk", "external_id": "77", "status": "open", "opened_at": utc(2026, 11, 4, 8),
              "observed_at": utc(2026, 11, 4, 10)}
    with transaction() as session:
        upsert_tickets(session, [TicketUpdate(**update, category="Billing")])
    assert _changes(run_id) is None
    with transaction() as session:
        upsert_tickets(session, [TicketUpdate(**{**update, "observed_at": utc(2026, 11, 4, 11)},
                                              category="Refunds")])
    assert _changes(run_id) == Changes(arrived=0, changed=1)


def test_erasing_a_customers_data_changes_no_run(worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        item = _first_item(session, worked_example.ids["ann"])
        item.respondent_ref = identifier_refs(["someone@example.com"], current_app.config["RESPONDENT_SALT"])[0]
        item.comment = "call me on 555"
        before = item.changed_at  # when the example's items were stored, weeks after their days: late
    with transaction() as session:
        assert erase_customer(session, ["someone@example.com"], note="request 1").comments == 1
    with transaction() as session:
        assert session.scalar(select(Feedback.changed_at).where(Feedback.id == item.id)) == before
    assert _changes(run_id) is None


def test_only_completed_runs_are_asked_about_and_each_run_for_its_own_period(worked_example):
    this_week, last_week = worked_example.run(), worked_example.run(period=BEFORE)
    with transaction() as session:
        _add(session, "late-last-week", utc(2026, 10, 28, 9), worked_example.ids["bob"])
        running = AppraisalRun(period_kind="week", period_start=WEEK.start, period_end=WEEK.end, status="running",
                               guideline_id=session.get(AppraisalRun, this_week).guideline_id,
                               started_at=utc(2026, 11, 9), feedback_watermark=1)
        session.add(running)
        session.flush()
        found = changes_since(session, [this_week, last_week, running.id])
    assert found == {last_week: Changes(arrived=1, changed=0)}


@pytest.mark.parametrize("ended_days_ago, listed", [(10, True), (91, True), (93, False)])
def test_the_home_page_looks_back_a_quarter(worked_example, ended_days_ago, listed):
    run_id = worked_example.run()
    with transaction() as session:
        _add(session, "late", utc(2026, 11, 6, 9), worked_example.ids["ann"])
        now = WEEK.end + timedelta(days=ended_days_ago)
        found = [(run.id, changes) for run, changes in outdated_runs(session, now)]
    assert found == ([(run_id, Changes(arrived=1, changed=0))] if listed else [])


def test_the_next_run_of_the_period_is_up_to_date_again(worked_example):
    first = worked_example.run()
    with transaction() as session:
        _add(session, "late", utc(2026, 11, 6, 9), worked_example.ids["ann"])
    second = worked_example.run()
    with transaction() as session:
        assert outdated_runs(session, WEEK.end + timedelta(days=1)) == []  # the latest run of record is read
        assert changes_since(session, [first]) == {first: Changes(1, 0)}
        assert changes_since(session, [second]) == {}


def test_an_item_stored_on_time_is_not_late_and_one_stored_later_is(app_context):
    now = utcnow()
    with transaction() as session:
        on_time = _add(session, "on-time", now - LATE + timedelta(minutes=1), None)
        late = _add(session, "late", now - LATE - timedelta(minutes=1), None)
        assert on_time.changed_at is None and late.changed_at == late.received_at


@pytest.mark.usefixtures("app_context")
def test_the_bulk_ingestion_path_marks_late_arrivals_too(create_employee):
    create_employee("Ann Agent", identities=[("helpdesk", "101")])
    answered = (utcnow() - timedelta(minutes=2)).isoformat()
    with transaction() as session:
        ingest(session, "post_ticket_survey", [survey("r-now", answered_at=answered), survey("r-old")])
    with transaction() as session:
        marks = dict(session.execute(select(Feedback.external_id, Feedback.changed_at)
                                     .where(Feedback.received_at.is_not(None))).all())
    assert marks["r-now"] is None and marks["r-old"] is not None  # r-old answered on 2 November


def test_an_item_credited_to_a_colleague_changes_both_their_reports(worked_example):
    run_id = worked_example.run()
    ann, bob = worked_example.ids["ann"], worked_example.ids["bob"]
    with transaction() as session:
        item = _first_item(session, ann)
        dispute = raise_dispute(session, item.id, session.get(User, worked_example.users["ann"]), "Bob's ticket")
        decide_dispute(session, dispute.id, session.get(User, worked_example.hr), uphold=True, outcome="yes",
                       reassign_to=bob)
        outdated = {who: outdated_run(session, session.get(AppraisalRun, run_id), [worked_example.ids[who]])
                    for who in ("ann", "bob", "dan")}
    # Ann's run counted it for her: her report is the one that moved most.
    assert outdated == {"ann": Changes(0, 1), "bob": Changes(0, 1), "dan": None}


def test_an_answer_revised_into_the_next_week_changes_the_run_that_counted_it(worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        item = _first_item(session, worked_example.ids["cat"])
        revise_feedback(session, "test", item.external_id, value=1.0, comment=None, occurred_at=utc(2026, 11, 9, 9))
        assert item.previous_occurred_at == utc(2026, 11, 2, 10)
    assert _changes(run_id) == Changes(arrived=0, changed=1)


def test_a_flag_decided_and_an_identity_moved_with_its_feedback_are_changes(worked_example):
    from core.identity_moves import move_identity
    from core.models import EmployeeIdentity, Flag

    run_id = worked_example.run()
    ann, dan = worked_example.ids["ann"], worked_example.ids["dan"]
    with transaction() as session:
        item = _first_item(session, dan)
        flag = Flag(feedback_id=item.id, check="self_rating", reason="test")
        session.add(flag)
        session.flush()
        decide_flag(session, flag.id, session.get(User, worked_example.hr), uphold=True)
    assert _changes(run_id) == Changes(0, 1)
    with transaction() as session:
        session.add(EmployeeIdentity(employee_id=ann, provider="phone", external_id="201"))
        moved = _add(session, "by-phone", utc(2026, 11, 3, 9), ann, attributed_identity="phone:201")
    run_id = worked_example.run()  # counts the item for Ann
    with transaction() as session:
        move_identity(session, "phone:201", session.get(Employee, dan), with_feedback=True)
    with transaction() as session:
        item = session.get(Feedback, moved.id)
        assert (item.employee_id, item.previous_employee_id) == (dan, ann)
        assert outdated_run(session, session.get(AppraisalRun, run_id), [ann]) == Changes(0, 1)


def test_a_page_about_a_superseded_run_is_not_told_to_run_it_again(worked_example):
    first = worked_example.run()
    with transaction() as session:
        _add(session, "late", utc(2026, 11, 6, 9), worked_example.ids["ann"])
    worked_example.run()
    with transaction() as session:
        assert outdated_run(session, session.get(AppraisalRun, first)) is None  # the later run counted it


def test_a_flag_on_someones_whole_period_changes_their_run_when_it_holds_them_otherwise(worked_example):
    """Such a flag holds a person's incentives while it is open or upheld (runs.py's _open_flags), touching no
    item: one the run saw, dismissed since, no longer holds them; one raised since holds them now."""
    from core.models import Flag

    ann, bob = worked_example.ids["ann"], worked_example.ids["bob"]
    hr = worked_example.hr

    def flag(session, who):
        found = Flag(employee_id=who, period_start=WEEK.start, period_end=WEEK.end, check="suppressed_surveys",
                     reason="surveys held back")
        session.add(found)
        session.flush()
        return found.id

    with transaction() as session:
        seen = flag(session, ann)  # open when the run reads the flags
    run_id = worked_example.run()
    with transaction() as session:
        decide_flag(session, seen, session.get(User, hr), uphold=True)  # held, and holds still
        assert changes_since(session, [run_id]) == {}
    with transaction() as session:
        raised = flag(session, bob)  # after the run: holds Bob now
        assert changes_since(session, [run_id]) == {run_id: Changes(0, 0, 1)}
        assert changes_since(session, [run_id], [ann]) == {}
        decide_flag(session, raised, session.get(User, hr), uphold=False)  # raised and dismissed since: as before
        assert changes_since(session, [run_id]) == {}
    assert str(Changes(2, 1, 1)) == "2 items arrived, 1 item changed and 1 period flag changed since"


def test_a_period_flag_the_run_saw_dismissed_since_is_a_change(worked_example):
    from core.models import Flag

    with transaction() as session:
        session.add(Flag(employee_id=worked_example.ids["ann"], period_start=WEEK.start, period_end=WEEK.end,
                         check="suppressed_surveys", reason="surveys held back"))
    run_id = worked_example.run()
    with transaction() as session:
        flag_id = session.scalar(select(Flag.id))
        decide_flag(session, flag_id, session.get(User, worked_example.hr), uphold=False)
        assert changes_since(session, [run_id], [worked_example.ids["ann"]]) == {run_id: Changes(0, 0, 1)}


def test_home_does_not_ask_again_for_a_period_already_being_run_again(worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        _add(session, "late", utc(2026, 11, 6, 9), worked_example.ids["ann"])
        assert [run.id for run, _ in outdated_runs(session, WEEK.end + timedelta(days=1))] == [run_id]
        earlier = session.get(AppraisalRun, run_id)
        session.add(AppraisalRun(period_kind="week", period_start=earlier.period_start, period_end=earlier.period_end,
                                 guideline_id=earlier.guideline_id, status="running"))
        session.flush()
        assert outdated_runs(session, WEEK.end + timedelta(days=1)) == []
