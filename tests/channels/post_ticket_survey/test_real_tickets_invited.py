"""Which real helpdesk tickets get a survey invitation: solved recently, not open now, not surveyed already by
the helpdesk itself."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from channels.post_ticket_survey.models import Invitation
from core.models import Feedback, Ticket, utcnow

from .helpdesk_webhooks import payload, recent, stored_ticket

ZENDESK_METRIC_SOLVED = datetime(2011, 5, 9, 10, 38, 52, tzinfo=UTC)
CHATWOOT_RESOLVED = datetime.fromtimestamp(1627063520, UTC)
FRESHDESK_2001_RESOLVED = datetime(2024, 1, 4, 12, 30, tzinfo=UTC)  # its updated_at: it has no stats
FRESHDESK_1_RESOLVED = datetime(2020, 7, 24, 15, 35, 21, tzinfo=UTC)  # stats.resolved_at, though open


def test_no_invitation_for_real_tickets_solved_long_ago_or_open_now(deliver, session, shared_data):
    """The ops walkthrough: each of these was surveyed, years after the solve or while the ticket was open."""
    cases = [
        ("freshdesk", "freshdesk/python_freshdesk_ticket_1.json", "1", "the ticket is 'open' now, not solved"),
        ("freshdesk", "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json", "2001",
         "solved 2024-01-04 12:30 UTC, more than 14 days ago"),
        ("zendesk", "zendesk/zenpy_spec_ticket_metric.json", "4343",
         "solved 2011-05-09 10:38 UTC, more than 14 days ago"),
        ("chatwoot", "chatwoot/chatwoot_docs_conversation_resolved.json", "10",
         "solved 2021-07-23 18:05 UTC, more than 14 days ago"),
    ]
    for provider, name, ticket, reason in cases:
        answer = deliver(provider, payload(shared_data, name))
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["invitations"] == [], name
        assert answer.get_json()["not_invited"] == [{"ticket": ticket, "reason": reason}], name
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert stored_ticket(session, "freshdesk", 1).resolved_at == FRESHDESK_1_RESOLVED  # its timings are kept all the same


def test_the_same_real_tickets_solved_yesterday_are_invited_unless_open(deliver, session, shared_data):
    invited = {}
    for provider, name, solved_at in (
            ("freshdesk", "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json",
             FRESHDESK_2001_RESOLVED),
            ("zendesk", "zendesk/zenpy_spec_ticket_metric.json", ZENDESK_METRIC_SOLVED),  # no status: solved
            ("chatwoot", "chatwoot/chatwoot_docs_conversation_resolved.json", CHATWOOT_RESOLVED)):
        answer = deliver(provider, recent(shared_data, name, solved_at)).get_json()
        invited[provider] = [(i["ticket"], i["delivery"]) for i in answer["invitations"]]
        assert answer["not_invited"] == [], name
    assert invited == {"freshdesk": [("2001", "link")], "zendesk": [("4343", "link")], "chatwoot": [("10", "link")]}

    # Freshdesk's ticket 1 is open (status 2) though stats.resolved_at says when it was resolved before.
    reopened = recent(shared_data, "freshdesk/python_freshdesk_ticket_1.json", FRESHDESK_1_RESOLVED)
    answer = deliver("freshdesk", reopened).get_json()
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "1", "reason": "the ticket is 'open' now, not solved"}]
    pending = deliver("freshdesk", {**reopened, "status": 3}).get_json()
    assert pending["not_invited"] == [{"ticket": "1", "reason": "the ticket is 'pending' now, not solved"}]
    later = (utcnow() - timedelta(hours=1)).isoformat()
    solved = deliver("freshdesk", {**reopened, "status": 4, "updated_at": later}).get_json()  # resolved again
    assert [i["ticket"] for i in solved["invitations"]] == ["1"]
    assert session.scalar(select(func.count()).select_from(Invitation)) == 4


def test_no_second_survey_for_a_ticket_the_customer_rated_in_the_helpdesk(deliver, session, shared_data):
    answered = [{"ticket": "208", "reason": "it was surveyed already"}]
    # Zendesk: the real rating of ticket 208 first, then the ticket, solved yesterday.
    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_satisfaction_rating.json")
                   ).status_code == 200
    ticket = recent(shared_data, "zendesk/zenpy_spec_ticket.json", datetime(2015, 7, 25, 2, 23, 13, tzinfo=UTC),
                     id=208, status="solved")
    answer = deliver("zendesk", ticket).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], answered)
    # Zendesk: the rating inside the ticket that reports the solve.
    rated = {**ticket, "id": 209, "satisfaction_rating": {"id": 35437, "score": "good", "assignee_id": 135,
                                                          "updated_at": ticket["updated_at"]}}
    answer = deliver("zendesk", rated).get_json()
    assert answer["ratings"]["created"] == 1
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "209"}])

    # Zendesk sent its own survey, not answered yet ("offered"): inside the ticket, or on its own before it.
    offered = {**ticket, "id": 210, "satisfaction_rating": {"id": 35438, "score": "offered",
                                                            "updated_at": ticket["updated_at"]}}
    answer = deliver("zendesk", offered).get_json()
    assert answer["ratings"]["created"] == 0 and "rating 35438 was offered, not answered" in answer["ignored"]
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "210"}])
    assert session.scalar(select(Ticket.survey_seen_at).where(Ticket.external_id == "210")) is not None
    # On its own, about a ticket stored already (unsolved yet): the solve that follows invites nobody.
    deliver("zendesk", {**ticket, "id": 211, "status": "open"})
    assert deliver("zendesk", {"id": 35439, "score": "offered", "ticket_id": 211,
                               "updated_at": ticket["updated_at"]}).status_code == 200
    answer = deliver("zendesk", {**ticket, "id": 211}).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "211"}])

    # Freshdesk: the customer rated ticket 2001 in Freshdesk before its solve reached Plaudit.
    assert deliver("freshdesk", {"id": 9, "agent_id": 501, "ticket_id": 2001, "created_at": utcnow().isoformat(),
                                 "ratings": {"default_question": 103}}).status_code == 200
    answer = deliver("freshdesk", recent(shared_data, "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations"
                                          ".json", FRESHDESK_2001_RESOLVED)).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "2001"}])

    # Chatwoot: the CSAT answer to Chatwoot's own survey, then the conversation resolved.
    csat = json.loads(payload(shared_data, "chatwoot/chatwoot_docs_message_created.json"))
    csat.update(id=119, content_type="input_csat", message_type="outgoing", content_attributes={
        "submitted_values": {"csat_survey_response": {"rating": 4, "feedback_message": "Quick!"}}})
    assert deliver("chatwoot", csat).get_json()["ratings"]["created"] == 1
    answer = deliver("chatwoot", recent(shared_data, "chatwoot/chatwoot_docs_conversation_resolved.json",
                                         CHATWOOT_RESOLVED)).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "10"}])
    # Chatwoot sent its survey when the conversation was resolved, and the customer has not answered yet.
    resolved = recent(shared_data, "chatwoot/chatwoot_docs_conversation_resolved.json", CHATWOOT_RESOLVED, id=11)
    asked = {**csat, "id": 121, "content_attributes": {}, "conversation": {**csat["conversation"], "id": 11},
             "created_at": resolved["timestamp"]}
    answer = deliver("chatwoot", asked).get_json()
    assert answer["ratings"]["created"] == 0 and "CSAT survey sent, not answered yet" in answer["ignored"]
    answer = deliver("chatwoot", resolved).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "11"}])
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_a_status_written_as_a_placeholder_writes_it_counts(deliver, session, shared_data):
    """Zendesk's {{ticket.status}} writes "Solved", Freshdesk's "Resolved": stored as they came, they were never
    solved, so the ticket had no solve time and its customer no survey, with no reason given."""
    zendesk = recent(shared_data, "zendesk/zenpy_spec_ticket.json", datetime(2015, 7, 25, 2, 23, 13, tzinfo=UTC),
                     id=301, status="Solved", satisfaction_rating=None)
    freshdesk = recent(shared_data, "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json",
                       FRESHDESK_2001_RESOLVED, status="Resolved")
    for provider, body, ticket in (("zendesk", zendesk, "301"), ("freshdesk", freshdesk, "2001")):
        answer = deliver(provider, body).get_json()
        assert [i["ticket"] for i in answer["invitations"]] == [ticket], answer
        stored = stored_ticket(session, provider, ticket)
        assert stored.status == ("solved" if provider == "zendesk" else "resolved") and stored.resolved_at


def test_a_zendesk_trigger_that_adds_the_requester_s_address_gets_an_e_mailed_survey(deliver, session, shared_data):
    """Zendesk's API names the requester by id only, so every Zendesk invitation was a link in the webhook's
    answer, which Zendesk throws away: the customer was never asked."""
    ticket = recent(shared_data, "zendesk/zenpy_spec_ticket.json", datetime(2015, 7, 25, 2, 23, 13, tzinfo=UTC),
                    id=302, status="solved", satisfaction_rating=None,
                    requester={"email": "rita.customer@example.com", "name": "Rita"})
    assert [i["ticket"] for i in deliver("zendesk", ticket).get_json()["invitations"]] == ["302"]
    # (mailed where PLAUDIT_MAIL_SERVER is set: the invitation knows whom to write to)
    invitation = session.scalar(select(Invitation).join(Ticket, Ticket.id == Invitation.ticket_id)
                                .where(Ticket.external_id == "302"))
    assert invitation.recipient_email == "rita.customer@example.com"


def test_zendesk_event_webhooks_and_trigger_bodies_without_times_are_understood(deliver, session):
    """A webhook subscribed to Zendesk's ticket events was refused with 422 ('not a Zendesk ticket...'), and a
    trigger body holding no time gave its solved ticket no solve time, so nobody was invited."""
    now = utcnow()
    event = {"type": "zen:event-type:ticket.status_changed", "id": "cbe4028c-7239", "subject": "zen:ticket:5158",
             "time": now.isoformat(), "zendesk_event_version": "2022-11-06",
             "event": {"previous": "OPEN", "current": "SOLVED"},
             "detail": {"id": "5158", "status": "SOLVED", "subject": "Printer on fire", "type": "INCIDENT",
                        "assignee_id": "8447388090494", "requester_id": "8447388090495",
                        "created_at": (now - timedelta(hours=3)).isoformat(), "updated_at": now.isoformat(),
                        "via": {"channel": "web_service"}}}
    answer = deliver("zendesk", event)
    assert answer.status_code == 200, answer.get_json()
    assert [i["ticket"] for i in answer.get_json()["invitations"]] == ["5158"]
    ticket = stored_ticket(session, "zendesk", "5158")
    assert (ticket.status, ticket.subject) == ("solved", "Printer on fire") and ticket.resolved_at
    assert ticket.category == "incident"  # as the API writes it, not the event's INCIDENT
    other = deliver("zendesk", {**event, "type": "zen:event-type:user.created", "detail": {"id": "1"}}).get_json()
    assert other["ignored"] == ["event zen:event-type:user.created: not about a ticket"]

    trigger = {"ticket": {"id": "5159", "subject": "Refund", "status": "Solved",
                          "requester": {"email": "rita.customer@example.com"}}}  # no time in the body
    assert [i["ticket"] for i in deliver("zendesk", trigger).get_json()["invitations"]] == ["5159"]
    # the documented trigger on Satisfaction changed: the rating inside the ticket, in Zendesk's words
    rated = {"ticket": {**trigger["ticket"], "satisfaction_rating": {
        "id": "5159-csat", "score": "Bad", "comment": "Took a week"}}}
    assert deliver("zendesk", rated).get_json()["ratings"]["created"] == 1
    stored = session.scalar(select(Feedback).where(Feedback.external_id == "zendesk:rating:5159-csat"))
    assert (stored.value, stored.comment) == (0, "Took a week")


def test_a_freshdesk_automation_body_names_status_and_agent_in_words(deliver, session, create_employee):
    """An automation's webhook body, from Freshdesk's placeholders: the status in words, the agent by address,
    no time. The ticket is solved, credited to the agent, and its customer invited."""
    ann = create_employee("Ann", email="ann@example.com")
    body = {"ticket": {"id": "2301", "subject": "Refund", "status": "Resolved", "type": "Refund",
                       "requester": {"email": "rita.customer@example.com"}, "agent": {"email": "Ann@Example.com"}}}
    answer = deliver("freshdesk", body).get_json()
    assert [i["ticket"] for i in answer["invitations"]] == ["2301"]
    assert deliver("freshdesk", {"ticket": {**body["ticket"], "id": "2302", "status": "inf"}}).status_code == 200
    ticket = stored_ticket(session, "freshdesk", "2301")
    assert (ticket.status, ticket.category) == ("resolved", "Refund") and ticket.resolved_at
    assert ticket.solver_id == ann.id
