"""The built-in integrity checks, each driven through the real ingestion path on both databases: a flagged
item is quarantined and counts in no metric, and the near miss next to it is accepted and counts."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import event, select, update

from appraisal.metrics import metric
from channels.post_ticket_survey.invitations import Solve, invite_solved
from channels.post_ticket_survey.models import Invitation
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from core.channel import IdentityRef
from core.ingestion import ingest
from core.models import Feedback, Flag, Integration, Ticket, utcnow
from core.policy import PROVIDER_KEY, IngestionPolicy
from core.tickets import TicketUpdate, upsert_tickets
from plugins.integrity_checks.link_scanners import KNOWN_SCANNERS
from tests.fixtures.payloads import survey

CHECKS = ("self_rating", "duplicate_respondent", "link_scanner", "rating_after_reassignment", "suppressed_surveys")
SECRET = "whsec-test-0123456789"
MONDAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def checks(app):
    return app.extensions["plaudit.plugins"].integrity_checks


@pytest.fixture
def ann(create_employee):
    return create_employee("Ann Agent", email="ann@example.com",
                           identities=[("helpdesk", "101"), ("desk", "ann"), ("email", "ann.home@example.org")])


@pytest.fixture
def bob(create_employee):
    return create_employee("Bob Brown", email="bob@example.com", identities=[("helpdesk", "102"), ("desk", "bob")])


def _ingest(session, *payloads):
    report = ingest(session, "post_ticket_survey", list(payloads))
    session.commit()
    assert not report.rejected, report.rejected
    return {stored.external_id: stored for stored in report.created}


def _flags(session) -> dict[str, list[str]]:
    """External id -> the checks that flagged it."""
    flags: dict[str, list[str]] = {}
    for external_id, check in session.execute(select(Feedback.external_id, Flag.check)
                                              .join(Flag, Flag.feedback_id == Feedback.id).order_by(Flag.id)):
        flags.setdefault(external_id, []).append(check)
    return flags


def _status(session, external_id: str) -> str:
    return session.scalar(select(Feedback.status).where(Feedback.external_id == external_id))


def _reason(session, check: str) -> str:
    return session.scalar(select(Flag.reason).where(Flag.check == check))


def _counted(app, session, employee_id: int) -> int:
    """How many of the employee's csat answers the CSAT metric counts."""
    session.expire_all()
    rule = app.extensions["plaudit.plugins"].scoring_rules["csat_percent"]
    result = metric(session, rule, {}).get(employee_id)
    session.rollback()  # end the read: on SQLite the session would otherwise hold the write lock
    return result.n if result else 0


def test_the_five_checks_are_loaded_and_on_by_default(app, checks):
    from core.policy import default_policy

    assert set(CHECKS) <= set(checks)
    policy = default_policy(app)
    assert {slug: policy.checks[slug] for slug in CHECKS} == {
        "self_rating": {}, "duplicate_respondent": {"window_hours": 24.0},
        "link_scanner": {"min_seconds": 10, "user_agents": list(KNOWN_SCANNERS)},
        "rating_after_reassignment": {}, "suppressed_surveys": {"min_tickets": 20, "max_ratio": 0.5}}
    assert all(checks[slug].title for slug in CHECKS)


@pytest.mark.parametrize("slug, raw, field", [
    ("duplicate_respondent", {"window_hours": 0}, "window_hours"),
    ("duplicate_respondent", {"window_hours": "a day"}, "window_hours"),
    ("link_scanner", {"min_seconds": -1}, "min_seconds"),
    ("link_scanner", {"user_agents": ["Barracuda", "(unclosed"]}, "user_agents"),
    ("suppressed_surveys", {"max_ratio": 1.5}, "max_ratio"),
    ("suppressed_surveys", {"min_tickets": 0}, "min_tickets"),
    ("self_rating", {"strict": True}, "strict"),
    ("rating_after_reassignment", {"grace_hours": 2}, "grace_hours"),
])
def test_a_bad_parameter_is_refused_by_name(checks, slug, raw, field):
    with pytest.raises(ValidationError) as error:
        checks[slug].load_params(raw)
    assert set(error.value.messages) == {field}


def test_a_bad_scanner_pattern_says_which_and_why(checks):
    with pytest.raises(ValidationError) as error:
        checks["link_scanner"].load_params({"user_agents": ["Barracuda", "(unclosed"]})
    assert "not a regular expression" in str(error.value.messages["user_agents"][1])


# --- self_rating --------------------------------------------------------------------------------------


def test_an_employee_rating_their_own_ticket_is_quarantined(app, session, ann):
    _ingest(session, survey("own-work-email", respondent=" ANN@example.com"),
            survey("own-work-identity", ticket_id="T-2", respondent="ann.home@example.org"))

    assert _flags(session) == {"own-work-email": ["self_rating"], "own-work-identity": ["self_rating"]}
    assert _status(session, "own-work-email") == "quarantined"
    assert "Ann Agent" in _reason(session, "self_rating")
    assert _counted(app, session, ann.id) == 0


def test_an_employee_rating_a_colleague_is_not_a_self_rating(app, session, ann, bob):
    _ingest(session, survey("colleague", agent=("helpdesk", "102"), respondent="ann@example.com"),
            survey("own-work", ticket_id="T-2", respondent="ann@example.com"))

    assert _flags(session) == {"own-work": ["self_rating"]} and _status(session, "colleague") == "accepted"
    assert _counted(app, session, bob.id) == 1


# --- duplicate_respondent -------------------------------------------------------------------------------


def _at(hours: float) -> str:
    return (MONDAY + timedelta(hours=hours)).isoformat()


def test_a_second_answer_within_the_window_is_quarantined_and_the_first_counts(app, session, ann):
    _ingest(session, survey("first", ticket_id="T-1", answered_at=_at(0)))
    _ingest(session, survey("again", ticket_id="T-2", answered_at=_at(23), rating=1),
            survey("third", ticket_id="T-3", answered_at=_at(23.5), rating=1))

    assert _flags(session) == {"again": ["duplicate_respondent"], "third": ["duplicate_respondent"]}
    assert _status(session, "first") == "accepted" and _status(session, "again") == "quarantined"
    reasons = session.scalars(select(Flag.reason).order_by(Flag.id)).all()
    assert "a csat answer about the same employee 23 hours before this one" in reasons[0]
    assert "2 earlier csat answers" in reasons[1] and "within 24 hours" in reasons[1]
    assert _counted(app, session, ann.id) == 1


def test_answers_a_day_apart_or_about_different_employees_all_count(app, session, ann, bob):
    _ingest(session, survey("monday", ticket_id="T-1", answered_at=_at(0)),
            survey("tuesday", ticket_id="T-2", answered_at=_at(25)),  # 25 hours later
            survey("about-bob", ticket_id="T-3", answered_at=_at(1), agent=("helpdesk", "102")),
            survey("nps-too", ticket_id="T-1", answered_at=_at(0), kind="nps", rating=9),
            survey("tuesday-again", ticket_id="T-4", answered_at=_at(26)))  # an hour after Tuesday's

    assert _flags(session) == {"tuesday-again": ["duplicate_respondent"]}
    assert _counted(app, session, ann.id) == 2 and _counted(app, session, bob.id) == 1


def test_an_earlier_answer_arriving_late_makes_the_stored_later_one_the_duplicate(app, session, ann):
    """Sent 12:00 first, then 10:00: both counted, while in time order the second was quarantined."""
    _ingest(session, survey("noon", ticket_id="T-2", answered_at=_at(12), rating=1))
    _ingest(session, survey("ten", ticket_id="T-1", answered_at=_at(10), rating=5),
            survey("other-kind", ticket_id="T-1", answered_at=_at(10), kind="nps", rating=9))

    assert _flags(session) == {"noon": ["duplicate_respondent"]}
    assert _status(session, "noon") == "quarantined" and _status(session, "ten") == "accepted"
    reason = _reason(session, "duplicate_respondent")
    assert "a csat answer about the same employee 2 hours before this one" in reason and "arrived after it" in reason
    assert _counted(app, session, ann.id) == 1
    _ingest(session, survey("nine", ticket_id="T-0", answered_at=_at(9)))  # earlier still: noon is flagged once
    assert _flags(session) == {"noon": ["duplicate_respondent"], "ten": ["duplicate_respondent"]}


def test_two_questions_of_one_kind_in_one_response_are_one_answer(app, session, ann):
    _ingest(session, survey("inv-7-speed", ticket_id="T-7"), survey("inv-7-friendliness", ticket_id="T-7"),
            survey("inv-8-speed", ticket_id="T-8"))  # the same customer's next ticket, the same day

    assert _flags(session) == {"inv-8-speed": ["duplicate_respondent"]}
    assert "2 earlier csat answers" in _reason(session, "duplicate_respondent")


def test_the_window_is_the_one_the_policy_sets(app, session, ann):
    app.extensions[PROVIDER_KEY] = lambda session: IngestionPolicy(
        tuple(app.config["ATTRIBUTION_POLICY"]), {"duplicate_respondent": {"window_hours": 48.0}})
    _ingest(session, survey("monday", ticket_id="T-1", answered_at=_at(0)),
            survey("tuesday", ticket_id="T-2", answered_at=_at(25)))

    assert _flags(session) == {"tuesday": ["duplicate_respondent"]}
    assert "within 48 hours" in _reason(session, "duplicate_respondent")



def test_the_window_holds_its_exact_bounds_and_equal_times_go_by_arrival(app, session, ann):
    _ingest(session, survey("day-before", ticket_id="T-1", answered_at=_at(0)),
            survey("just-over-a-day", ticket_id="T-2", answered_at=(MONDAY + timedelta(hours=48, seconds=-0.5))
                   .isoformat()))
    _ingest(session, survey("a-day-later", ticket_id="T-3", answered_at=_at(24)),  # exactly 24 hours: within
            survey("at-once-a", ticket_id="T-4", answered_at=_at(72)),
            survey("at-once-b", ticket_id="T-5", answered_at=_at(72)))  # same moment, other ticket: stored second

    # just-over-a-day counted first, until a-day-later arrived 23.99 hours before it: in time order it would
    # have been the duplicate, so it is now, whichever arrived first.
    assert _flags(session) == {"a-day-later": ["duplicate_respondent"], "just-over-a-day": ["duplicate_respondent"],
                               "at-once-b": ["duplicate_respondent"]}
    assert "feedback" in _reason(session, "duplicate_respondent")


def test_an_excluded_answer_is_no_earlier_answer(app, session, ann):
    _ingest(session, survey("excluded", ticket_id="T-1", answered_at=_at(0)))
    session.execute(update(Feedback).values(status="excluded"))
    session.commit()
    _ingest(session, survey("later", ticket_id="T-2", answered_at=_at(1)))

    assert _flags(session) == {}


def test_only_the_answers_within_each_items_window_are_read(app, session, ann, bob):
    from plugins.integrity_checks.respondents import _candidates

    # The same customer every 12 hours for 20 days; other customers; about Bob; in nps.
    _ingest(session, *[survey(f"old-{n}", ticket_id=f"T-{n}", answered_at=_at(5 - 12 * (40 - n)))
                       for n in range(40)])
    _ingest(session, *[survey(f"other-{n}", ticket_id=f"O-{n}", answered_at=_at(n),
                              respondent=f"someone{n}@example.com") for n in range(10)])
    _ingest(session, survey("bob-1", ticket_id="B-1", answered_at=_at(2), agent=("helpdesk", "102")),
            survey("nps-1", ticket_id="N-1", answered_at=_at(2), kind="nps", rating=9))
    _ingest(session, survey("now", ticket_id="T-now", answered_at=_at(5)))
    item = session.scalar(select(Feedback).where(Feedback.external_id == "now"))
    ids_by_external = dict(session.execute(select(Feedback.id, Feedback.external_id)).all())

    read = _candidates(session, [item], timedelta(hours=24))
    # Only Ann's csat answers from this customer in the day before (old-38 19 hours before, old-39 7).
    assert sorted(ids_by_external[row.id] for row in read[item.id]) == ["old-38", "old-39"]
    assert _flags(session)["now"] == ["duplicate_respondent"]
    assert "2 earlier csat answers" in session.scalar(select(Flag.reason).join(Feedback)
                                                      .where(Feedback.external_id == "now"))


# --- link_scanner: through the survey page ----------------------------------------------------------------


def _deliver(client, integration_id: int, ticket_id: str) -> dict:
    """Deliver a ticket Ann solved yesterday to the helpdesk webhook, as the helpdesk would."""
    now = utcnow()
    body = {"provider": "ourdesk", "ticket": {
        "id": ticket_id, "subject": "Printer on fire", "status": "solved",
        "opened_at": (now - timedelta(days=2)).isoformat(), "resolved_at": (now - timedelta(days=1)).isoformat(),
        "assignee": {"provider": "desk", "id": "ann"}, "requester_email": "customer@example.com"}}
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = client.post(f"/channels/post_ticket_survey/webhooks/{integration_id}", data=raw,
                           headers={"X-Plaudit-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _survey_link(client, integration_id: int, ticket_id: str) -> str:
    """The survey page's path, handed back to the helpdesk (no mail server: nothing is sent)."""
    [invited] = _deliver(client, integration_id, ticket_id)["invitations"]
    return invited["url"].split("127.0.0.1:5000")[1]


def _add_integration(session) -> int:
    integration = Integration(provider="generic", name="Our desk", webhook_secret=SECRET,
                              settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    integration_id = integration.id
    session.rollback()  # end the read: the webhook writes from another session next
    return integration_id


@pytest.fixture
def survey_integration(session, ann):
    return _add_integration(session)


def _answer_of(session, ticket_external_id: str) -> Feedback:
    session.expire_all()
    return session.scalar(select(Feedback).join(Ticket, Ticket.id == Feedback.ticket_id)
                          .where(Ticket.external_id == ticket_external_id, Feedback.kind == "csat"))


CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
BING_PREVIEW = "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534+ (KHTML, like Gecko) BingPreview/1.0b"


def test_an_answer_seconds_after_the_mail_was_sent_is_a_scanners(smtp_server, make_app, session, ann):
    inbox, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none", MAIL_FROM="cs@example.com")
    client = app.test_client()
    integration_id = _add_integration(session)
    assert _deliver(client, integration_id, "T-1")["invitations"] == [{"ticket": "T-1", "delivery": "email"}]
    [message] = inbox.messages  # sent just now, through the real SMTP server
    text = next(part.get_payload(decode=True).decode() for part in message.walk()
                if part.get_content_type() == "text/plain")
    path = "/channels/" + text.split("/channels/", 1)[1].split()[0]

    # A scanner that follows the link and submits the form at once, in an ordinary browser's clothes.
    assert client.post(path, data={"csat": "5"}, headers={"User-Agent": CHROME}).status_code == 303

    item = _answer_of(session, "T-1")
    assert item.payload["answered_via"]["user_agent"] == CHROME
    assert item.payload["answered_via"]["invited_at"] == session.scalar(select(Invitation.sent_at)).isoformat()
    assert "127.0.0.1" not in json.dumps(item.payload)  # no IP address is kept
    assert _flags(session) == {item.external_id: ["link_scanner"]} and item.status == "quarantined"
    assert "after the invitation was sent" in _reason(session, "link_scanner")
    assert _counted(app, session, ann.id) == 0


def test_an_answer_eleven_seconds_after_sending_from_a_browser_counts(app, client, session, checks,
                                                                      survey_integration, ann):
    path = _survey_link(client, survey_integration, "T-2")
    # As send_invitation records it, 11 seconds before the customer answers.
    session.execute(update(Invitation).values(sent_at=utcnow() - timedelta(seconds=11)))
    session.commit()

    assert client.post(path, data={"csat": "5"}, headers={"User-Agent": CHROME}).status_code == 303

    item = _answer_of(session, "T-2")
    assert item.payload["answered_via"]["invited_at"] is not None
    assert _flags(session) == {} and item.status == "accepted"
    # Under a one-minute threshold the same answer would be a scanner's: the check did look at it.
    check = checks["link_scanner"]
    assert [feedback_id for feedback_id, _ in check.inspect(session, [item], check.load_params({"min_seconds": 60}))
            ] == [item.id]
    assert _counted(app, session, ann.id) == 1


def test_an_answer_from_a_known_scanner_is_quarantined_whenever_it_comes(app, client, session,
                                                                         survey_integration, ann):
    path = _survey_link(client, survey_integration, "T-3")  # no mail sent, so no time sent

    assert client.post(path, data={"csat": "5"}, headers={"User-Agent": BING_PREVIEW}).status_code == 303

    item = _answer_of(session, "T-3")
    assert item.payload["answered_via"] == {"user_agent": BING_PREVIEW, "invited_at": None}
    assert _flags(session) == {item.external_id: ["link_scanner"]} and item.status == "quarantined"
    assert 'names "BingPreview"' in _reason(session, "link_scanner")
    assert _counted(app, session, ann.id) == 0


# --- rating_after_reassignment ------------------------------------------------------------------------------


def _ticket(session, external_id: str, *holders: tuple[str, float], solved: float = 1) -> None:
    """A desk ticket opened on Monday 09:00 and solved ``solved`` hours later, held by each (agent, hours)."""
    updates = [TicketUpdate(provider="desk", external_id=external_id, opened_at=MONDAY,
                            resolved_at=MONDAY + timedelta(hours=solved))]
    updates += [TicketUpdate(provider="desk", external_id=external_id, assignee=IdentityRef("desk", agent),
                             assigned_at=MONDAY + timedelta(hours=hours)) for agent, hours in holders]
    for update_ in updates:  # one delivery each, as the helpdesk would send them
        upsert_tickets(session, [update_])
    session.commit()


def _rating(response_id: str, ticket: str, hours: float, respondent: str) -> dict:
    """A helpdesk rating of a desk ticket, credited to the assignee at solve (Ann)."""
    return survey(response_id, ticket_id=f"desk:{ticket}", answered_at=_at(hours), agent=("desk", "ann"),
                  respondent=respondent)


def test_a_rating_after_the_ticket_went_to_a_colleague_is_quarantined(app, session, ann, bob):
    _ticket(session, "T-7", ("ann", 0), ("bob", 3))  # Ann solves at 10:00; reopened and given to Bob at 12:00
    _ingest(session, _rating("late", "T-7", 5, "customer@example.com"))

    assert _flags(session) == {"late": ["rating_after_reassignment"]} and _status(session, "late") == "quarantined"
    reason = _reason(session, "rating_after_reassignment")
    assert "reassigned to Bob Brown on 2026-11-02 12:00 UTC, 2 hours before this csat rating" in reason
    assert _counted(app, session, ann.id) == 0


def test_a_rating_before_the_reassignment_or_after_getting_it_back_counts(app, session, ann, bob):
    _ticket(session, "T-8", ("ann", 0), ("bob", 3))
    _ticket(session, "T-9", ("ann", 0), ("bob", 3), ("ann", 4))  # back with Ann before the rating
    _ticket(session, "T-10", ("bob", 0), ("ann", 0.5))  # Ann took it over from Bob: hers when rated
    _ingest(session, _rating("early", "T-8", 2.5, "one@example.com"),  # half an hour before Bob had it
            _rating("late", "T-8", 3.5, "four@example.com"),  # half an hour after
            _rating("back", "T-9", 5, "two@example.com"),
            _rating("taken-over", "T-10", 5, "three@example.com"))

    assert _flags(session) == {"late": ["rating_after_reassignment"]}
    assert _counted(app, session, ann.id) == 3


def test_a_changed_survey_answer_after_the_reassignment_is_quarantined(app, client, session, survey_integration,
                                                                       ann, bob):
    path = _survey_link(client, survey_integration, "T-11")
    assert client.post(path, data={"csat": "5"}, headers={"User-Agent": CHROME}).status_code == 303
    assert _flags(session) == {}
    session.rollback()
    ticket = session.scalar(select(Ticket).where(Ticket.external_id == "T-11"))
    upsert_tickets(session, [TicketUpdate(provider=ticket.provider, external_id="T-11",
                                          assignee=IdentityRef("desk", "bob"), assigned_at=utcnow())])
    session.commit()

    assert client.post(path, data={"csat": "1"}, headers={"User-Agent": CHROME}).status_code == 303

    item = _answer_of(session, "T-11")  # the page's answer names its ticket by id
    assert _flags(session) == {item.external_id: ["rating_after_reassignment"]} and item.status == "quarantined"
    assert _counted(app, session, ann.id) == 0


# --- suppressed_surveys -------------------------------------------------------------------------------------

START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


def _solved_tickets(session, agent: str, count: int, resolved_at: datetime) -> list[Ticket]:
    updates = [TicketUpdate(provider="desk", external_id=f"{agent}-{resolved_at:%m%d}-{n}",
                            opened_at=resolved_at - timedelta(hours=1), resolved_at=resolved_at,
                            assignee=IdentityRef("desk", agent), assigned_at=resolved_at - timedelta(hours=1))
               for n in range(count)]
    return list(upsert_tickets(session, updates).values())


@pytest.fixture
def cy(create_employee):
    return create_employee("Cy Cole", identities=[("desk", "cy")])


def _surveyed_org(session, ann_surveyed: int) -> None:
    """Bob and Cy: 20 solved tickets each in November, all invited. Ann: 20, of which ``ann_surveyed``
    were rated through her helpdesk (no invitation), one reassigned to Bob after she solved it, and a
    few unsurveyed ones solved in October that do not count."""
    solved = MONDAY + timedelta(days=1)
    invite = [Solve(t) for agent in ("bob", "cy") for t in _solved_tickets(session, agent, 20, solved)]
    invite_solved(session, invite, SurveySettingsSchema().load({"delivery": "link"}))
    ann_tickets = _solved_tickets(session, "ann", 20, solved)
    _solved_tickets(session, "ann", 5, datetime(2026, 10, 20, tzinfo=UTC))
    upsert_tickets(session, [TicketUpdate(provider="desk", external_id=ann_tickets[0].external_id,
                                          assignee=IdentityRef("desk", "bob"), assigned_at=solved + timedelta(1))])
    session.commit()
    rated = ann_tickets[len(ann_tickets) - ann_surveyed:]
    _ingest(session, *[survey(f"rating-{t.external_id}", ticket_id=f"desk:{t.external_id}", agent=("desk", "ann"),
                              respondent=f"customer{n}@example.com", answered_at=_at(26))
                       for n, t in enumerate(rated)])


def test_an_employee_whose_tickets_were_rarely_surveyed_is_found(app, session, checks, ann, bob, cy):
    _surveyed_org(session, ann_surveyed=7)  # 35% against 47 of 60 (78%): below half of it

    findings = list(checks["suppressed_surveys"].inspect_period(session, START, END,
                                                                checks["suppressed_surveys"].load_params(None)))
    assert [employee_id for employee_id, _ in findings] == [ann.id]
    reason = findings[0][1]
    assert "7 of 20 (35%)" in reason and "47 of 60 (78%)" in reason and "50%" in reason


def test_coverage_at_half_the_organisations_or_too_few_tickets_is_not_a_finding(app, session, checks, ann, bob,
                                                                                 cy):
    _surveyed_org(session, ann_surveyed=8)  # 40% against 48 of 60 (80%): exactly half, not below it
    check = checks["suppressed_surveys"]

    assert list(check.inspect_period(session, START, END, check.load_params(None))) == []
    stricter = check.load_params({"max_ratio": 0.6})
    assert [employee_id for employee_id, _ in check.inspect_period(session, START, END, stricter)] == [ann.id]
    too_few = check.load_params({"max_ratio": 0.6, "min_tickets": 21})
    assert list(check.inspect_period(session, START, END, too_few)) == []


# --- a constant number of queries per batch -----------------------------------------------------------------


def _statements(app, run) -> int:
    engine = app.extensions["plaudit.db"].engine
    seen = []

    def count(*args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("slug", ["self_rating", "duplicate_respondent", "link_scanner",
                                  "rating_after_reassignment"])
def test_a_batch_costs_the_same_queries_whatever_its_size(app, session, checks, ann, bob, slug):
    for agent in ("ann", "bob"):
        for n in range(12):
            _ticket(session, f"{agent}-{n}", (agent, 0), ("bob" if agent == "ann" else "ann", 3))
    payloads = [survey(f"r-{n}", ticket_id=f"desk:{agent}-{n}", agent=("desk", agent), answered_at=_at(5 + n),
                       respondent=f"customer{n % 3}@example.com") for agent in ("ann", "bob") for n in range(12)]
    _ingest(session, *payloads)
    items = session.scalars(select(Feedback).order_by(Feedback.id)).all()
    check = checks[slug]
    params = check.load_params(None)

    small = _statements(app, lambda: list(check.inspect(session, items[:2], params)))
    large = _statements(app, lambda: list(check.inspect(session, items, params)))
    assert small == large <= 1
