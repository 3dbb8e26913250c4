"""The duplicate_respondent check through the real ingestion path: within the window only a customer's first
answer about an employee counts, whichever arrived first."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.models import Feedback, Flag
from core.policy import PROVIDER_KEY, IngestionPolicy
from tests.fixtures.payloads import survey

from .integrity_support import (
    MONDAY,
    at,
    counted,
    flags_by_item,
    ingest_surveys,
    reason_of,
    status_of,
)


def test_a_second_answer_within_the_window_is_quarantined_and_the_first_counts(app, session, ann):
    ingest_surveys(session, survey("first", ticket_id="T-1", answered_at=at(0)))
    ingest_surveys(session, survey("again", ticket_id="T-2", answered_at=at(23), rating=1),
                   survey("third", ticket_id="T-3", answered_at=at(23.5), rating=1))

    assert flags_by_item(session) == {"again": ["duplicate_respondent"], "third": ["duplicate_respondent"]}
    assert status_of(session, "first") == "accepted" and status_of(session, "again") == "quarantined"
    reasons = session.scalars(select(Flag.reason).order_by(Flag.id)).all()
    assert "a csat answer about the same employee 23 hours before this one" in reasons[0]
    assert "2 earlier csat answers" in reasons[1] and "within 24 hours" in reasons[1]
    assert counted(app, session, ann.id) == 1


def test_answers_a_day_apart_or_about_different_employees_all_count(app, session, ann, bob):
    ingest_surveys(session, survey("monday", ticket_id="T-1", answered_at=at(0)),
                   survey("tuesday", ticket_id="T-2", answered_at=at(25)),  # 25 hours later
                   survey("about-bob", ticket_id="T-3", answered_at=at(1), agent=("helpdesk", "102")),
                   survey("nps-too", ticket_id="T-1", answered_at=at(0), kind="nps", rating=9),
                   survey("tuesday-again", ticket_id="T-4", answered_at=at(26)))  # an hour after Tuesday's

    assert flags_by_item(session) == {"tuesday-again": ["duplicate_respondent"]}
    assert counted(app, session, ann.id) == 2 and counted(app, session, bob.id) == 1


def test_an_earlier_answer_arriving_late_makes_the_stored_later_one_the_duplicate(app, session, ann):
    """Sent 12:00 first, then 10:00: both counted, while in time order the second was quarantined."""
    ingest_surveys(session, survey("noon", ticket_id="T-2", answered_at=at(12), rating=1))
    ingest_surveys(session, survey("ten", ticket_id="T-1", answered_at=at(10), rating=5),
                   survey("other-kind", ticket_id="T-1", answered_at=at(10), kind="nps", rating=9))

    assert flags_by_item(session) == {"noon": ["duplicate_respondent"]}
    assert status_of(session, "noon") == "quarantined" and status_of(session, "ten") == "accepted"
    reason = reason_of(session, "duplicate_respondent")
    assert "a csat answer about the same employee 2 hours before this one" in reason and "arrived after it" in reason
    assert counted(app, session, ann.id) == 1
    ingest_surveys(session, survey("nine", ticket_id="T-0", answered_at=at(9)))  # earlier still: noon is flagged once
    assert flags_by_item(session) == {"noon": ["duplicate_respondent"], "ten": ["duplicate_respondent"]}


def test_two_questions_of_one_kind_in_one_response_are_one_answer(app, session, ann):
    ingest_surveys(session, survey("inv-7-speed", ticket_id="T-7"), survey("inv-7-friendliness", ticket_id="T-7"),
                   survey("inv-8-speed", ticket_id="T-8"))  # the same customer's next ticket, the same day

    assert flags_by_item(session) == {"inv-8-speed": ["duplicate_respondent"]}
    assert "2 earlier csat answers" in reason_of(session, "duplicate_respondent")


def test_the_window_is_the_one_the_policy_sets(app, session, ann):
    app.extensions[PROVIDER_KEY] = lambda session: IngestionPolicy(
        tuple(app.config["ATTRIBUTION_POLICY"]), {"duplicate_respondent": {"window_hours": 48.0}})
    ingest_surveys(session, survey("monday", ticket_id="T-1", answered_at=at(0)),
                   survey("tuesday", ticket_id="T-2", answered_at=at(25)))

    assert flags_by_item(session) == {"tuesday": ["duplicate_respondent"]}
    assert "within 48 hours" in reason_of(session, "duplicate_respondent")



def test_the_window_holds_its_exact_bounds_and_equal_times_go_by_arrival(app, session, ann):
    ingest_surveys(session, survey("day-before", ticket_id="T-1", answered_at=at(0)),
                   survey("just-over-a-day", ticket_id="T-2", answered_at=(MONDAY + timedelta(hours=48, seconds=-0.5))
                   .isoformat()))
    ingest_surveys(session, survey("a-day-later", ticket_id="T-3", answered_at=at(24)),  # exactly 24 hours: within
                   survey("at-once-a", ticket_id="T-4", answered_at=at(72)),
                   survey("at-once-b", ticket_id="T-5", answered_at=at(72)))  # same moment, other ticket: stored second

    # just-over-a-day counted first, until a-day-later arrived 23.99 hours before it: in time order it would
    # have been the duplicate, so it is now, whichever arrived first.
    assert flags_by_item(session) == {"a-day-later": ["duplicate_respondent"], "just-over-a-day": ["duplicate_respondent"],
                               "at-once-b": ["duplicate_respondent"]}
    assert "feedback" in reason_of(session, "duplicate_respondent")


def test_an_excluded_answer_is_no_earlier_answer(app, session, ann):
    ingest_surveys(session, survey("excluded", ticket_id="T-1", answered_at=at(0)))
    session.execute(update(Feedback).values(status="excluded"))
    session.commit()
    ingest_surveys(session, survey("later", ticket_id="T-2", answered_at=at(1)))

    assert flags_by_item(session) == {}


def test_only_the_answers_within_each_items_window_are_read(app, session, ann, bob):
    from plugins.integrity_checks.respondents import _candidates

    # The same customer every 12 hours for 20 days; other customers; about Bob; in nps.
    ingest_surveys(session, *[survey(f"old-{n}", ticket_id=f"T-{n}", answered_at=at(5 - 12 * (40 - n)))
                       for n in range(40)])
    ingest_surveys(session, *[survey(f"other-{n}", ticket_id=f"O-{n}", answered_at=at(n),
                              respondent=f"someone{n}@example.com") for n in range(10)])
    ingest_surveys(session, survey("bob-1", ticket_id="B-1", answered_at=at(2), agent=("helpdesk", "102")),
                   survey("nps-1", ticket_id="N-1", answered_at=at(2), kind="nps", rating=9))
    ingest_surveys(session, survey("now", ticket_id="T-now", answered_at=at(5)))
    item = session.scalar(select(Feedback).where(Feedback.external_id == "now"))
    ids_by_external = dict(session.execute(select(Feedback.id, Feedback.external_id)).all())

    read = _candidates(session, [item], timedelta(hours=24))
    # Only Ann's csat answers from this customer in the day before (old-38 19 hours before, old-39 7).
    assert sorted(ids_by_external[row.id] for row in read[item.id]) == ["old-38", "old-39"]
    assert flags_by_item(session)["now"] == ["duplicate_respondent"]
    assert "2 earlier csat answers" in session.scalar(select(Flag.reason).join(Feedback)
                                                      .where(Feedback.external_id == "now"))
