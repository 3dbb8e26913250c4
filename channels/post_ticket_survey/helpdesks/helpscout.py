"""Help Scout: conversations and satisfaction ratings (Great / Okay / Not Good).

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

#: Help Scout's three faces on a 1-3 scale; also their numeric codes (1 Great, 2 Okay, 3 Not Good).
RATINGS = {"great": 3, "okay": 2, "not good": 1, 1: 3, 2: 2, 3: 1}


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
        if "rating_id" in data or "rating" in data:
            return _rating(data, received_at)
        if "status" in data and "id" in data:
            return _conversation(data)
        raise PayloadError("body", "not a Help Scout conversation or rating")


def _rating(rating, received_at):
    face = rating.get("rating") if "rating" in rating else rating.get("type")
    key = face.strip().lower() if isinstance(face, str) else face
    if not isinstance(key, int | str) or key not in RATINGS:
        raise PayloadError("rating", f"{face!r} is not Great, Okay or Not Good")
    rating_id = rating.get("rating_id") or required(rating, "id", "rating")
    return Delivery(ratings=[rating_payload(
        "helpscout", rating_id, rating.get("conversation_id") or rating.get("conversationId"),
        rating=RATINGS[key], scale=(1, 3),
        answered_at=timestamp(rating.get("rating_created_at") or rating.get("createdAt"), "rating_created_at")
        or received_at, agent_id=rating.get("rating_user_id") or rating.get("userId"),
        comment=rating.get("rating_comments") or rating.get("comments"),
        respondent=rating.get("rating_customer_id") or rating.get("customerId"))])


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
