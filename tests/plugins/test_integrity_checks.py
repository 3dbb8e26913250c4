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

from channels.post_ticket_survey.invitations import Solve, invite_solved
from channels.post_ticket_survey.models import Invitation
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from core.channel import IdentityRef
from core.models import Feedback, Integration, Ticket, utcnow
from core.tickets import TicketUpdate, upsert_tickets
from plugins.integrity_checks.link_scanners import KNOWN_SCANNERS
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

CHECKS = ("self_rating", "duplicate_respondent", "link_scanner", "rating_after_reassignment", "suppressed_surveys")
SECRET = "whsec-test-0123456789"


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
    ingest_surveys(session, survey("own-work-email", respondent=" ANN@example.com"),
                   survey("own-work-identity", ticket_id="T-2", respondent="ann.home@example.org"))

    assert flags_by_item(session) == {"own-work-email": ["self_rating"], "own-work-identity": ["self_rating"]}
    assert status_of(session, "own-work-email") == "quarantined"
    assert "Ann Agent" in reason_of(session, "self_rating")
    assert counted(app, session, ann.id) == 0


def test_an_employee_rating_a_colleague_is_not_a_self_rating(app, session, ann, bob):
    ingest_surveys(session, survey("colleague", agent=("helpdesk", "102"), respondent="ann@example.com"),
                   survey("own-work", ticket_id="T-2", respondent="ann@example.com"))

    assert flags_by_item(session) == {"own-work": ["self_rating"]} and status_of(session, "colleague") == "accepted"
    assert counted(app, session, bob.id) == 1


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
    assert flags_by_item(session) == {item.external_id: ["link_scanner"]} and item.status == "quarantined"
    assert "after the invitation was sent" in reason_of(session, "link_scanner")
    assert counted(app, session, ann.id) == 0


def test_an_answer_eleven_seconds_after_sending_from_a_browser_counts(app, client, session, checks,
                                                                      survey_integration, ann):
    path = _survey_link(client, survey_integration, "T-2")
    # As send_invitation records it, 11 seconds before the customer answers.
    session.execute(update(Invitation).values(sent_at=utcnow() - timedelta(seconds=11)))
    session.commit()

    assert client.post(path, data={"csat": "5"}, headers={"User-Agent": CHROME}).status_code == 303

    item = _answer_of(session, "T-2")
    assert item.payload["answered_via"]["invited_at"] is not None
    assert flags_by_item(session) == {} and item.status == "accepted"
    # Under a one-minute threshold the same answer would be a scanner's: the check did look at it.
    check = checks["link_scanner"]
    assert [feedback_id for feedback_id, _ in check.inspect(session, [item], check.load_params({"min_seconds": 60}))
            ] == [item.id]
    assert counted(app, session, ann.id) == 1


def test_an_answer_from_a_known_scanner_is_quarantined_whenever_it_comes(app, client, session,
                                                                         survey_integration, ann):
    path = _survey_link(client, survey_integration, "T-3")  # no mail sent, so no time sent

    assert client.post(path, data={"csat": "5"}, headers={"User-Agent": BING_PREVIEW}).status_code == 303

    item = _answer_of(session, "T-3")
    assert item.payload["answered_via"] == {"user_agent": BING_PREVIEW, "invited_at": None}
    assert flags_by_item(session) == {item.external_id: ["link_scanner"]} and item.status == "quarantined"
    assert 'names "BingPreview"' in reason_of(session, "link_scanner")
    assert counted(app, session, ann.id) == 0


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
    return survey(response_id, ticket_id=f"desk:{ticket}", answered_at=at(hours), agent=("desk", "ann"),
                  respondent=respondent)


def test_a_rating_after_the_ticket_went_to_a_colleague_is_quarantined(app, session, ann, bob):
    _ticket(session, "T-7", ("ann", 0), ("bob", 3))  # Ann solves at 10:00; reopened and given to Bob at 12:00
    ingest_surveys(session, _rating("late", "T-7", 5, "customer@example.com"))

    assert flags_by_item(session) == {"late": ["rating_after_reassignment"]} and status_of(session, "late") == "quarantined"
    reason = reason_of(session, "rating_after_reassignment")
    assert "reassigned to Bob Brown on 2026-11-02 12:00 UTC, 2 hours before this csat rating" in reason
    assert counted(app, session, ann.id) == 0


def test_a_rating_before_the_reassignment_or_after_getting_it_back_counts(app, session, ann, bob):
    _ticket(session, "T-8", ("ann", 0), ("bob", 3))
    _ticket(session, "T-9", ("ann", 0), ("bob", 3), ("ann", 4))  # back with Ann before the rating
    _ticket(session, "T-10", ("bob", 0), ("ann", 0.5))  # Ann took it over from Bob: hers when rated
    ingest_surveys(session, _rating("early", "T-8", 2.5, "one@example.com"),  # half an hour before Bob had it
                   _rating("late", "T-8", 3.5, "four@example.com"),  # half an hour after
            _rating("back", "T-9", 5, "two@example.com"),
            _rating("taken-over", "T-10", 5, "three@example.com"))

    assert flags_by_item(session) == {"late": ["rating_after_reassignment"]}
    assert counted(app, session, ann.id) == 3


def test_a_changed_survey_answer_after_the_reassignment_is_quarantined(app, client, session, survey_integration,
                                                                       ann, bob):
    path = _survey_link(client, survey_integration, "T-11")
    assert client.post(path, data={"csat": "5"}, headers={"User-Agent": CHROME}).status_code == 303
    assert flags_by_item(session) == {}
    session.rollback()
    ticket = session.scalar(select(Ticket).where(Ticket.external_id == "T-11"))
    upsert_tickets(session, [TicketUpdate(provider=ticket.provider, external_id="T-11",
                                          assignee=IdentityRef("desk", "bob"), assigned_at=utcnow())])
    session.commit()

    assert client.post(path, data={"csat": "1"}, headers={"User-Agent": CHROME}).status_code == 303

    item = _answer_of(session, "T-11")  # the page's answer names its ticket by id
    assert flags_by_item(session) == {item.external_id: ["rating_after_reassignment"]} and item.status == "quarantined"
    assert counted(app, session, ann.id) == 0


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
    ingest_surveys(session, *[survey(f"rating-{t.external_id}", ticket_id=f"desk:{t.external_id}", agent=("desk", "ann"),
                              respondent=f"customer{n}@example.com", answered_at=at(26))
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
    payloads = [survey(f"r-{n}", ticket_id=f"desk:{agent}-{n}", agent=("desk", agent), answered_at=at(5 + n),
                       respondent=f"customer{n % 3}@example.com") for agent in ("ann", "bob") for n in range(12)]
    ingest_surveys(session, *payloads)
    items = session.scalars(select(Feedback).order_by(Feedback.id)).all()
    check = checks[slug]
    params = check.load_params(None)

    small = _statements(app, lambda: list(check.inspect(session, items[:2], params)))
    large = _statements(app, lambda: list(check.inspect(session, items, params)))
    assert small == large <= 1
