"""Chatwoot: conversations (as tickets), their messages, and CSAT answers (1-5).

Chatwoot sends no signature, so the integration secret goes in the webhook URL (``?token=``). Events are
told apart by their ``event`` field; the agent is ``meta.assignee``.
"""
from __future__ import annotations

from core.channel import IdentityRef
from core.tickets import TicketUpdate

from .base import (
    Delivery,
    Helpdesk,
    PayloadError,
    code,
    rating_payload,
    required,
    section,
    sections,
    timestamp,
    token_ok,
)

OUTGOING = (1, "outgoing")


class Chatwoot(Helpdesk):
    provider = "chatwoot"
    title = "Chatwoot"
    scheme = "?token= in the webhook URL carrying the integration secret"
    solved_statuses = frozenset({"resolved"})

    def verify(self, headers, query, body, secret):
        return token_ok(headers, query, secret)

    def parse(self, data, received_at):
        if not isinstance(data, dict):
            raise PayloadError("body", "expected a JSON object")
        event = required(data, "event")
        if not isinstance(event, str):
            raise PayloadError("event", "expected the event's name")
        if event in ("message_created", "message_updated"):  # a CSAT answer updates the survey message
            return _message(data, received_at)
        if event.startswith("conversation_"):
            return _conversation(data, event, received_at)
        return Delivery(ignored=[f"event {event} is not about a conversation"])


def _conversation(conversation, event, received_at) -> Delivery:
    conversation_id = required(conversation, "id", "conversation")
    status = "resolved" if event == "conversation_resolved" else conversation.get("status")
    update = TicketUpdate(provider="chatwoot", external_id=str(conversation_id), status=status,
                          contact_channel=conversation.get("channel"))
    messages = sections(conversation, "messages", "conversation.messages")
    started = [timestamp(m.get("created_at"), "messages.created_at") for m in messages]
    update.opened_at = timestamp(conversation.get("created_at"), "created_at") or (min(started) if started else None)
    replies = sorted((timestamp(m.get("created_at"), "messages.created_at"), m.get("sender_id")) for m in messages
                     if code(m.get("message_type"), "messages.message_type") in OUTGOING and not m.get("private"))
    if replies:
        update.first_response_at = replies[0][0]
        update.public_reply_at, replier = replies[-1]
        update.public_replier = IdentityRef("chatwoot", str(replier)) if replier else None
    if status == "resolved":
        update.resolved_at = timestamp(conversation.get("timestamp"), "timestamp") or received_at
    assignee = section(section(conversation, "meta", "conversation.meta"), "assignee", "conversation.meta.assignee")
    if assignee.get("id"):
        update.assignee = IdentityRef("chatwoot", str(assignee["id"]))
    return Delivery(tickets=[update])


def _message(message, received_at) -> Delivery:
    conversation = section(message, "conversation", "conversation")
    conversation_id = required(conversation, "id", "conversation")
    delivery = _conversation({**conversation, "messages": []}, "conversation_updated", received_at)
    created = timestamp(message.get("created_at"), "created_at") or received_at
    if message.get("content_type") == "input_csat":
        answer = section(section(section(message, "content_attributes", "content_attributes"), "submitted_values",
                                 "content_attributes.submitted_values"), "csat_survey_response",
                         "content_attributes.submitted_values.csat_survey_response")
        rating = answer.get("rating")
        if rating is None:  # Chatwoot asked the customer itself: surveyed, so Plaudit must not ask too
            return delivery.merge(Delivery(ignored=["CSAT survey sent, not answered yet"],
                                           surveyed={("chatwoot", str(conversation_id)): created}))
        assignee = section(section(conversation, "meta", "conversation.meta"), "assignee",
                           "conversation.meta.assignee")
        delivery.ratings.append(rating_payload(
            "chatwoot", required(message, "id", "message"), conversation_id, rating=rating, scale=(1, 5),
            answered_at=timestamp(message.get("updated_at"), "updated_at") or created,
            agent_id=assignee.get("id"), comment=answer.get("feedback_message"),
            respondent=section(message, "sender", "sender").get("id")))
    elif code(message.get("message_type"), "message_type") in OUTGOING and not message.get("private"):
        update = delivery.tickets[0]
        update.first_response_at = update.public_reply_at = created
        sender = section(message, "sender", "sender")
        if sender.get("id") and sender.get("type") in (None, "user"):
            update.public_replier = IdentityRef("chatwoot", str(sender["id"]))
    return delivery
