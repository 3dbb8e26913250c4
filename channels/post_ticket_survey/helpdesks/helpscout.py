"""Help Scout: conversations and satisfaction ratings (Great / Okay / Not Good, which the webhook calls Bad).

Ratings come in two shapes. The ``satisfaction.ratings`` webhook sends the rating object: its own ``id``, the
conversation as ``ticketId``, the ``customer``, ``rating`` as a word and ``comments``, but not the agent rated
(the conversation's assignee is offered instead). The happiness ratings report (and the Singer tap that reads
it) has no id of the rating: ``rating_id`` is the rating itself (1 Great, 2 Okay, 3 Not Good), ``type`` the
conversation's, and a rating is known by its conversation and thread.

Help Scout signs with ``X-HelpScout-Signature``: base64 HMAC-SHA1 of the body under the webhook secret.
"""
from __future__ import annotations

import hashlib

from core.channel import IdentityRef
from core.tickets import TicketUpdate

from .base import (
    Delivery,
    Helpdesk,
    PayloadError,
    b64_hmac,
    parse_each,
    rating_payload,
    required,
    same,
    section,
    timestamp,
)

#: Help Scout's three faces on a 1-3 scale, as the webhook and the app name them.
FACES = {"great": 3, "okay": 2, "bad": 1, "not good": 1}
#: The report's ``rating_id`` codes on the same scale: 1 Great, 2 Okay, 3 Not Good.
CODES = {1: 3, 2: 2, 3: 1}


class HelpScout(Helpdesk):
    provider = "helpscout"
    title = "Help Scout"
    scheme = "X-HelpScout-Signature: base64 HMAC-SHA1 of the body"
    solved_statuses = frozenset({"closed"})

    def verify(self, headers, query, body, secret):
        return same(b64_hmac(secret, body, hashlib.sha1), headers.get("X-HelpScout-Signature"))

    def parse(self, data, received_at):
        if isinstance(data, list):
            return parse_each(self.parse, data, received_at)
        if not isinstance(data, dict):
            raise PayloadError("body", "expected a JSON object or array")
        if "rating_customer_id" in data or "rating_created_at" in data:
            return _reported_rating(data)
        if "rating" in data:
            return _rating(data, received_at)
        if "status" in data and "id" in data:
            return _conversation(data)
        raise PayloadError("body", "not a Help Scout conversation or rating")


def _rating(rating, received_at):
    """The webhook's rating object."""
    face = rating.get("rating")
    if not isinstance(face, str) or face.strip().lower() not in FACES:
        raise PayloadError("rating", f"{face!r} is not Great, Okay or Bad")
    customer = section(rating, "customer", "customer")
    return Delivery(ratings=[rating_payload(
        "helpscout", required(rating, "id"), rating.get("ticketId"), rating=FACES[face.strip().lower()],
        scale=(1, 3), answered_at=timestamp(rating.get("createdAt"), "createdAt") or received_at,
        comment=rating.get("comments"), respondent=customer.get("id"))])


def _reported_rating(record):
    """A record of the happiness ratings report: ``rating_id`` is the rating, not its id."""
    code = record.get("rating_id")
    if isinstance(code, bool) or code not in CODES:
        raise PayloadError("rating_id", f"{code!r} is not 1 (Great), 2 (Okay) or 3 (Not Good)")
    conversation = required(record, "conversation_id")
    answered_at = timestamp(required(record, "rating_created_at"), "rating_created_at")
    # One rating per thread; a record without its thread is told apart by when it was given.
    thread = record.get("thread_id")
    rated = f"thread-{thread}" if thread not in (None, "") else f"at-{answered_at:%Y%m%dT%H%M%S}"
    return Delivery(ratings=[rating_payload(
        "helpscout", f"{conversation}-{rated}", conversation, rating=CODES[code], scale=(1, 3),
        answered_at=answered_at, agent_id=record.get("rating_user_id"), comment=record.get("rating_comments"),
        respondent=record.get("rating_customer_id"))])


def _conversation(conversation):
    update = TicketUpdate(provider="helpscout", external_id=str(required(conversation, "id", "conversation")),
                          subject=conversation.get("subject"), status=conversation.get("status"),
                          contact_channel=conversation.get("type"),
                          opened_at=timestamp(conversation.get("createdAt"), "createdAt"),
                          resolved_at=timestamp(conversation.get("closedAt"), "closedAt"))
    assignee = section(conversation, "assignee", "assignee")
    if assignee.get("id"):
        update.assignee = IdentityRef("helpscout", str(assignee["id"]))
    return Delivery(tickets=[update])
