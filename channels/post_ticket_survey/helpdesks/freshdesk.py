"""Freshdesk: tickets (with conversations or stats), agents, satisfaction ratings.

Freshdesk cannot sign a webhook, so the integration's secret travels in an ``X-Plaudit-Token`` header (set
it in the automation rule) or in the webhook URL. A private note is not a first response.
"""
from __future__ import annotations

from core.channel import IdentityRef
from core.tickets import TicketUpdate

from .base import (
    AgentIdentity,
    Delivery,
    Helpdesk,
    PayloadError,
    code,
    ident,
    lowered_word,
    parse_each,
    rating_payload,
    required,
    same,
    section,
    sections,
    single_address,
    timestamp,
)

STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
_STATUS_NUMBERS = {name: number for number, name in STATUSES.items()}
SOURCES = {1: "email", 2: "portal", 3: "phone", 7: "chat", 9: "feedback_widget", 10: "outbound_email"}
#: Freshdesk's answer codes, from "extremely unhappy" (-103) to "extremely happy" (103), on a 1-7 scale.
RATINGS = {-103: 1, -102: 2, -101: 3, 100: 4, 101: 5, 102: 6, 103: 7}


class Freshdesk(Helpdesk):
    provider = "freshdesk"
    title = "Freshdesk"
    scheme = "X-Plaudit-Token header carrying the integration secret"
    #: 4 and 5; an open (2) or pending (3) ticket keeps ``stats.resolved_at`` from before it was reopened.
    solved_statuses = frozenset({STATUSES[4], STATUSES[5]})

    def verify(self, headers, query, body, secret):
        # Freshdesk can send custom headers, so the secret never needs to sit in a URL (and in access logs).
        return same(secret, headers.get("X-Plaudit-Token"))

    def refusal(self, headers, query):
        if not headers.get("X-Plaudit-Token"):
            where = " (a ?token= in the URL is refused: URLs end up in logs)" if "token" in query else ""
            return f"X-Plaudit-Token is missing: send the secret in that header{where}"
        return super().refusal(headers, query)

    def parse(self, data, received_at):
        if isinstance(data, dict) and isinstance(data.get("results"), list):  # a search response
            data = data["results"]
        if isinstance(data, list):
            return parse_each(self.parse, data, received_at)
        if not isinstance(data, dict):
            raise PayloadError("body", "expected a JSON object or array")
        if "ticket" in data:
            delivery = _ticket(section(data, "ticket", "ticket"), received_at)
            _replies(delivery.tickets[0], sections(data, "conversations", "conversations"))
            return delivery
        if "ratings" in data and "ticket_id" in data:
            return _rating(data, received_at)
        if "body_text" in data and "ticket_id" in data:  # one conversation entry
            update = TicketUpdate(provider="freshdesk", external_id=str(data["ticket_id"]))
            _replies(update, [data])
            return Delivery(tickets=[update])
        if "contact" in data and "ticket_scope" in data:
            return Delivery(agents=[AgentIdentity(IdentityRef("freshdesk", str(required(data, "id", "agent"))),
                                                  ident(section(data, "contact", "contact").get("email")))])
        if "subject" in data and "status" in data:
            return _ticket(data, received_at)
        if "unassigned_for" in data or "escalate_to" in data:
            return Delivery(ignored=[f"group {data.get('id')}: teams are kept in Plaudit"])
        raise PayloadError("body", "not a Freshdesk ticket, conversation, agent or rating")


def _ticket(ticket, received_at) -> Delivery:
    ticket_id = required(ticket, "id", "ticket")
    status = _status_number(ticket.get("status"))
    stats = section(ticket, "stats", "ticket.stats")
    update = TicketUpdate(
        provider="freshdesk", external_id=str(ticket_id), subject=ticket.get("subject"),
        category=ticket.get("type") or ticket.get("ticket_type"),
        contact_channel=SOURCES.get(code(ticket.get("source"), "ticket.source")),
        status=STATUSES.get(status, str(status) if status is not None else None),
        opened_at=timestamp(ticket.get("created_at"), "ticket.created_at"),
        first_response_at=timestamp(stats.get("first_responded_at"), "ticket.stats.first_responded_at"),
        resolved_at=timestamp(stats.get("resolved_at"), "ticket.stats.resolved_at"),
        requester_email=single_address(section(ticket, "requester", "ticket.requester").get("email")))
    if update.resolved_at is None and status in (4, 5):
        # (an automation's body may hold no time at all: it was resolved by the time Freshdesk sent it)
        update.resolved_at = timestamp(ticket.get("updated_at"), "ticket.updated_at") or received_at
    agent_email = ident(section(ticket, "agent", "ticket.agent").get("email"))
    if ticket.get("responder_id") or agent_email:
        # By id as the API names agents; by address as an automation's {{ticket.agent.email}} does.
        update.assignee = (IdentityRef("freshdesk", str(ticket["responder_id"])) if ticket.get("responder_id")
                           else IdentityRef("email", agent_email))
        # When we saw it so assigned: Freshdesk sends no assignment time of its own.
        update.assigned_at = timestamp(ticket.get("updated_at"), "ticket.updated_at") or update.opened_at
    return Delivery(tickets=[update])


def _status_number(value) -> int | str | None:
    """Freshdesk's status as its number (its API's 4), also when a webhook placeholder wrote it as a word
    ("Resolved") or a numeral; a word it has no number for stays a word."""
    word = lowered_word(value, "ticket.status")
    if word is None:
        return None
    if word in _STATUS_NUMBERS:
        return _STATUS_NUMBERS[word]
    if word.isdigit():
        return int(word)
    return word


def _replies(update: TicketUpdate, conversations) -> None:
    """Note the first and the last public reply from the agent side; customer messages and private notes
    do not count."""
    replies = sorted((timestamp(c.get("created_at"), "conversations.created_at"), c.get("user_id"))
                     for c in conversations if not c.get("incoming") and not c.get("private"))
    if replies:
        update.first_response_at = replies[0][0]
        update.public_reply_at, replier = replies[-1]
        update.public_replier = IdentityRef("freshdesk", str(replier)) if replier else None


def _rating(rating, received_at):
    answer = section(rating, "ratings", "ratings").get("default_question")
    if code(answer, "ratings.default_question") not in RATINGS:
        raise PayloadError("ratings.default_question", (f"{answer!r} is not a Freshdesk rating: one of "
                                                       f"{', '.join(map(str, RATINGS))}"))
    return Delivery(ratings=[rating_payload(
        "freshdesk", required(rating, "id", "rating"), rating.get("ticket_id"), rating=RATINGS[answer],
        scale=(1, 7), answered_at=timestamp(rating.get("created_at"), "created_at") or received_at,
        agent_id=rating.get("agent_id"), comment=rating.get("feedback"), respondent=rating.get("user_id"))])
