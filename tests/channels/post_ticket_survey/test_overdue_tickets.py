"""A ticket left open past its SLA target is a miss from the moment the target passes, for whoever held it then."""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from appraisal.guidelines import DEFAULT_GUIDELINE, publish_guideline
from appraisal.metrics import metric
from channels.post_ticket_survey.overdue import (
    record_overdue,
    sla_targets,
    sweep_overdue,
)
from core.channel import IdentityRef
from core.models import AuditEntry, Feedback, utcnow
from core.tickets import TicketUpdate, upsert_tickets

ANN, BOB = ("email", "ann@example.com"), ("email", "bob@example.com")
OPENED = "2026-11-02T09:00:00Z"
#: Two days and an hour after OPENED: the default resolution target (a day) passed on 3 November at 09:00.
NOW = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
NOVEMBER_3, NOVEMBER_4 = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)


def _ticket(deliver, ticket_id, *, status="open", opened=OPENED, first=None, resolved=None, who=ANN):
    ticket = {"id": ticket_id, "status": status, "opened_at": opened, "first_response_at": first,
              "resolved_at": resolved, "assignee": {"provider": who[0], "id": who[1]} if who else None}
    response = deliver("generic", {"provider": "ourdesk", "ticket": ticket})
    assert response.status_code == 200, response.get_data(as_text=True)


def _timings(session) -> dict[str, tuple]:
    session.expire_all()
    return {f.external_id: (f.value, f.occurred_at, f.employee_id, f.payload) for f in session.scalars(
        select(Feedback).where(Feedback.channel == "ticket_metrics"))}


@pytest.fixture
def people(session, create_employee):
    ann = create_employee("Ann", identities=[ANN])
    bob = create_employee("Bob", identities=[BOB])
    publish_guideline(session, copy.deepcopy(DEFAULT_GUIDELINE))
    session.commit()
    return ann, bob


def test_an_open_ticket_past_its_target_is_a_miss_in_the_period_the_target_passed(app, session, deliver, people):
    ann, _ = people
    _ticket(deliver, "T-1", first="2026-11-02T09:20:00Z")  # answered in time, never solved
    sweep = record_overdue(session, NOW)
    session.commit()

    assert (sweep.recorded, sweep.extended) == (1, 0)
    assert _timings(session) == {"ourdesk:T-1:resolution_time": (
        49 * 60.0, datetime(2026, 11, 3, 9, tzinfo=UTC), ann.id, {"overdue": True, "open": True})}
    rule = app.extensions["plaudit.plugins"].scoring_rules["resolution_sla"]
    missed = metric(session, rule, {}, start=NOVEMBER_3, end=NOVEMBER_4)[ann.id]
    assert (missed.value, missed.n) == (0.0, 1)


def test_nothing_before_the_target_nor_for_tickets_nobody_is_to_work_on(session, deliver, people):
    _ticket(deliver, "young", opened="2026-11-03T11:00:00Z")  # 23 hours open
    _ticket(deliver, "deleted", status="deleted")
    _ticket(deliver, "closed", status="closed")  # the generic format's word for solved, with no time given
    _ticket(deliver, "nobody's", who=None)
    _ticket(deliver, "ancient", opened="2026-09-01T09:00:00Z")  # its target passed before the 30 days looked at
    assert record_overdue(session, NOW).recorded == 0
    assert _timings(session) == {}


def test_a_ticket_taken_over_after_its_target_passed_stays_the_miss_of_who_held_it_then(session, deliver, people):
    ann, _ = people
    _ticket(deliver, "T-1")
    # Bob takes it six hours after its target passed (the generic format has no time of assignment)
    upsert_tickets(session, [TicketUpdate("ourdesk", "T-1", assignee=IdentityRef(*BOB),
                                          assigned_at=datetime(2026, 11, 3, 15, tzinfo=UTC))])
    record_overdue(session, NOW)
    assert _timings(session)["ourdesk:T-1:resolution_time"][2] == ann.id


def test_first_responses_are_swept_only_from_helpdesks_that_report_them(session, deliver, people):
    _ticket(deliver, "T-1")
    record_overdue(session, NOW)
    assert set(_timings(session)) == {"ourdesk:T-1:resolution_time"}  # no ticket says when it was answered

    _ticket(deliver, "T-2", opened="2026-11-04T08:00:00Z", first="2026-11-04T08:10:00Z")
    _ticket(deliver, "T-3", opened="2026-11-04T08:00:00Z")  # two hours unanswered against an hour's target
    record_overdue(session, NOW)  # now the helpdesk is known to report them, T-1's is late too
    assert set(_timings(session)) == {"ourdesk:T-1:resolution_time", "ourdesk:T-1:first_response_time",
                                      "ourdesk:T-3:first_response_time"}


def test_each_sweep_brings_the_minutes_up_to_date_and_stores_nothing_twice(session, deliver, people):
    _ticket(deliver, "T-1")
    record_overdue(session, NOW)
    sweep = record_overdue(session, datetime(2026, 11, 5, 9, tzinfo=UTC))
    assert (sweep.recorded, sweep.extended) == (0, 1)
    assert _timings(session)["ourdesk:T-1:resolution_time"][:2] == (72 * 60.0, datetime(2026, 11, 3, 9, tzinfo=UTC))
    # An abandoned ticket's item stops changing once its target passed more than the horizon ago.
    assert record_overdue(session, datetime(2026, 12, 3, 8, tzinfo=UTC)).extended == 1  # 30 days less an hour
    assert record_overdue(session, datetime(2026, 12, 4, 8, tzinfo=UTC)).extended == 0
    assert _timings(session)["ourdesk:T-1:resolution_time"][0] == pytest.approx(30 * 1440 + 23 * 60)


def test_the_solve_gives_the_real_minutes_and_the_miss_stays_where_it_fell(app, session, deliver, people):
    ann, _ = people
    _ticket(deliver, "T-1", first="2026-11-02T09:20:00Z")
    record_overdue(session, NOW)
    session.commit()
    _ticket(deliver, "T-1", status="solved", first="2026-11-02T09:20:00Z", resolved="2026-11-09T09:00:00Z")

    assert _timings(session)["ourdesk:T-1:resolution_time"] == (
        7 * 24 * 60.0, datetime(2026, 11, 3, 9, tzinfo=UTC), ann.id, {"overdue": True})
    revised = session.scalars(select(AuditEntry).where(AuditEntry.action == "feedback.revised")).one()
    assert revised.before["value"] == 49 * 60.0 and revised.after["value"] == 7 * 24 * 60.0
    rule = app.extensions["plaudit.plugins"].scoring_rules["resolution_sla"]
    assert metric(session, rule, {}, start=NOVEMBER_3, end=NOVEMBER_4)[ann.id].n == 1
    assert ann.id not in metric(session, rule, {}, start=datetime(2026, 11, 9, tzinfo=UTC),
                                end=datetime(2026, 11, 10, tzinfo=UTC))
    # The solved ticket's item is no open one: a later sweep leaves it alone.
    assert record_overdue(session, datetime(2026, 11, 20, tzinfo=UTC)).extended == 0


def test_the_target_is_the_guideline_s_and_without_a_target_nothing_is_swept(session, deliver, people):
    assert sla_targets(session) == {"first_response_time": 60.0, "resolution_time": 1440.0}
    publish_guideline(session, {"metrics": [{"rule": "csat_percent", "weight": 50},
                                            {"rule": "resolution_sla", "weight": 50,
                                             "params": {"target_minutes": 3000}}]})
    assert sla_targets(session) == {"resolution_time": 3000.0}
    _ticket(deliver, "T-1")  # 49 hours open: within 50
    assert record_overdue(session, NOW).recorded == 0

    publish_guideline(session, {"metrics": [{"rule": "csat_percent", "weight": 100}]})
    assert sla_targets(session) == {}
    assert record_overdue(session, datetime(2026, 11, 20, tzinfo=UTC)).recorded == 0


def test_the_cron_job_sweeps_in_a_transaction_of_its_own(app, session, deliver, people):
    assert any(entry.func == "channels.post_ticket_survey.overdue.sweep_overdue"
               for entry in app.extensions["plaudit.plugins"].cron_jobs())
    _ticket(deliver, "T-1", opened=(utcnow() - timedelta(days=2)).isoformat())
    session.commit()
    with app.app_context():
        assert sweep_overdue()["recorded"] == 1
    assert "ourdesk:T-1:resolution_time" in _timings(session)


def test_the_report_says_the_ticket_is_still_open(app, session, deliver, people):
    from appraisal.models import AppraisalRun
    from appraisal.report import employee_report
    from appraisal.runs import request_run
    from core.db import transaction
    from tests.fixtures.appraisal import WEEK

    ann, _ = people
    _ticket(deliver, "T-1", first="2026-11-02T09:20:00Z")
    record_overdue(session, NOW)
    session.commit()
    with app.app_context(), transaction() as work:
        run_id = request_run(work, WEEK).id
    session.expire_all()
    report = employee_report(session, session.get(AppraisalRun, run_id), ann.id,
                             app.extensions["plaudit.plugins"].scoring_rules, with_items=True)
    late = next(item for item in report["feedback_items"] if item["kind"] == "resolution_time")
    assert late["still_open"] and late["occurred_at"] == datetime(2026, 11, 3, 9, tzinfo=UTC)


def test_an_answer_after_the_sweep_ends_the_first_response_miss_even_before_the_solve(session, deliver, people):
    _ticket(deliver, "T-0", first="2026-11-02T09:10:00Z", resolved="2026-11-02T10:00:00Z", status="solved")
    _ticket(deliver, "T-1", opened="2026-11-04T07:00:00Z")
    _ticket(deliver, "T-2", opened="2026-11-04T07:00:00Z")
    record_overdue(session, NOW)  # three hours unanswered against an hour's target
    _ticket(deliver, "T-1", opened="2026-11-04T07:00:00Z", first="2026-11-04T07:30:00Z")  # answered in time,
    _ticket(deliver, "T-2", opened="2026-11-04T07:00:00Z", first="2026-11-04T09:30:00Z")  # reported late
    sweep = record_overdue(session, NOW + timedelta(minutes=15))
    timings = _timings(session)
    assert sweep.ended == 2
    assert timings["ourdesk:T-1:first_response_time"][:2] == (30.0, datetime(2026, 11, 4, 7, 30, tzinfo=UTC))
    assert timings["ourdesk:T-2:first_response_time"][:2] == (150.0, datetime(2026, 11, 4, 8, tzinfo=UTC))
    assert timings["ourdesk:T-2:first_response_time"][3] == {"overdue": True}


def test_a_solve_with_no_answer_recorded_ends_the_wait_for_one_at_the_solve(session, deliver, people):
    _ticket(deliver, "T-0", first="2026-11-02T09:10:00Z")  # this helpdesk reports first answers
    _ticket(deliver, "T-1", opened="2026-11-04T07:00:00Z")
    record_overdue(session, NOW)
    _ticket(deliver, "T-1", opened="2026-11-04T07:00:00Z", resolved="2026-11-04T12:00:00Z", status="solved")
    assert record_overdue(session, NOW + timedelta(hours=3)).ended == 1
    first = _timings(session)["ourdesk:T-1:first_response_time"]
    assert first[0] == 300.0 and first[3] == {"overdue": True}


def test_a_ticket_merged_after_it_went_overdue_is_nobody_s_miss_any_more(app, session, deliver, people):
    ann, _ = people
    _ticket(deliver, "T-1")
    record_overdue(session, NOW)
    _ticket(deliver, "T-1", status="merged")
    sweep = record_overdue(session, NOW + timedelta(days=5))
    assert (sweep.excluded, sweep.extended) == (1, 0)
    session.expire_all()
    item = session.scalars(select(Feedback).where(Feedback.channel == "ticket_metrics")).one()
    assert (item.status, item.value, item.payload) == ("excluded", 49 * 60.0, {"overdue": True})
    assert session.scalars(select(AuditEntry.note).where(AuditEntry.action == "feedback.excluded")).one() == (
        "the helpdesk marked ticket ourdesk:T-1 merged after it went overdue")
    rule = app.extensions["plaudit.plugins"].scoring_rules["resolution_sla"]
    assert ann.id not in metric(session, rule, {}, start=NOVEMBER_3, end=NOVEMBER_4)


def test_later_corrections_and_the_payload_purge_leave_the_miss_where_it_fell(session, deliver, people):
    from core.retention import purge_expired_payloads

    _ticket(deliver, "T-1")
    record_overdue(session, NOW)
    session.commit()
    assert purge_expired_payloads(datetime(2027, 1, 1, tzinfo=UTC)) >= 0  # everything is past retention
    _ticket(deliver, "T-1", status="solved", resolved="2026-11-20T09:00:00Z")
    _ticket(deliver, "T-1", status="solved", resolved="2026-11-19T09:00:00Z")  # the exact time, earlier
    assert _timings(session)["ourdesk:T-1:resolution_time"][:2] == (17 * 1440.0, datetime(2026, 11, 3, 9, tzinfo=UTC))


def test_nobody_known_or_someone_gone_is_charged_and_a_tie_goes_to_the_later_assignment(session, deliver, people,
                                                                                       create_employee):
    _, bob = people
    cy = create_employee("Cy", identities=[("email", "cy@example.com")])
    _ticket(deliver, "T-1", who=("email", "nobody@example.com"))
    _ticket(deliver, "T-2")
    upsert_tickets(session, [TicketUpdate("ourdesk", "T-2", assignee=IdentityRef(*BOB),
                                          assigned_at=datetime(2026, 11, 2, 9, tzinfo=UTC))])  # the same moment
    _ticket(deliver, "T-3", who=("email", "cy@example.com"))
    cy.active, cy.left_on = False, date(2026, 11, 2)  # Cy left before T-3's target passed
    session.commit()
    record_overdue(session, NOW)
    assert {ext: employee for ext, (_, _, employee, _) in _timings(session).items()} == {
        "ourdesk:T-2:resolution_time": bob.id}


def test_the_api_says_which_timings_are_of_tickets_still_open(client, session, deliver, people, create_user):
    from core.models import ApiToken

    _ticket(deliver, "T-1", first="2026-11-02T09:20:00Z")
    _ticket(deliver, "T-2", status="solved", opened="2026-11-03T09:00:00Z", first="2026-11-03T09:10:00Z",
            resolved="2026-11-03T10:00:00Z")
    record_overdue(session, NOW)
    token, plain = ApiToken.issue(create_user("bot@example.com", roles=["hr"]), "test", ["feedback:read"])
    session.add(token)
    session.commit()
    listed = client.get("/api/v1/feedback/?channel=ticket_metrics&kind=resolution_time",
                        headers={"Authorization": f"Bearer {plain}"})
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert {item["external_id"]: item["still_open"] for item in listed.get_json()} == {
        "ourdesk:T-1:resolution_time": True, "ourdesk:T-2:resolution_time": False}
    # Another channel's "open", whatever its value, says nothing (PostgreSQL refused to read a text as a boolean)
    session.add(Feedback(channel="post_ticket_survey", kind="csat", external_id="r-1", value=5.0,
                         occurred_at=NOW, payload={"open": "2026-11-02"}))
    session.commit()
    answers = client.get("/api/v1/feedback/?channel=post_ticket_survey", headers={"Authorization": f"Bearer {plain}"})
    assert answers.status_code == 200 and [item["still_open"] for item in answers.get_json()] == [False]


def test_a_disputed_miss_reads_as_still_open_where_the_manager_decides(app, session, deliver, people, create_user):
    from appraisal.review import raise_dispute
    from tests.fixtures.org import sign_in

    ann, _ = people
    _ticket(deliver, "T-1", first="2026-11-02T09:20:00Z")
    record_overdue(session, NOW)
    item = session.scalars(select(Feedback).where(Feedback.channel == "ticket_metrics")).one()
    raise_dispute(session, item.id, create_user("ann@example.com", employee=ann), "I was on leave that week.")
    create_user("hr@example.com", roles=["hr"])
    session.commit()
    hr = app.test_client()
    assert sign_in(hr, "hr@example.com").status_code == 302
    page = hr.get("/review/disputes").get_data(as_text=True)
    assert '<span class="muted">still open after</span> 2 d 1 h' in page


def test_a_merged_ticket_given_a_solve_time_is_excluded_too(session, deliver, people):
    _ticket(deliver, "T-1")
    record_overdue(session, NOW)
    # Zammad closes a merged ticket: its solve ends the item first, then the sweep sees the word
    _ticket(deliver, "T-1", status="merged", resolved="2026-11-05T09:00:00Z")
    assert record_overdue(session, NOW + timedelta(days=1)).excluded == 1
    _, occurred_at, _, payload = _timings(session)["ourdesk:T-1:resolution_time"]
    assert (occurred_at, payload) == (datetime(2026, 11, 3, 9, tzinfo=UTC), {"overdue": True})
    assert session.scalar(select(Feedback.status).where(Feedback.channel == "ticket_metrics")) == "excluded"


def test_an_agent_whose_identity_was_mapped_after_the_assignment_is_charged(session, deliver, people,
                                                                              create_employee):
    _ticket(deliver, "T-1", who=("email", "dee@example.com"))  # nobody's address yet
    dee = create_employee("Dee", identities=[("email", "dee@example.com")])
    record_overdue(session, NOW)
    assert _timings(session)["ourdesk:T-1:resolution_time"][2] == dee.id


def test_plaudit_tickets_sweep_overdue_sweeps_now(app, session, deliver, people):
    _ticket(deliver, "T-1", opened=(utcnow() - timedelta(days=2)).isoformat())
    session.commit()
    swept = app.test_cli_runner().invoke(args=["tickets", "sweep-overdue"])
    assert swept.exit_code == 0, swept.output
    assert "1 new miss(es) of open tickets past their target" in swept.output
    assert "ourdesk:T-1:resolution_time" in _timings(session)
