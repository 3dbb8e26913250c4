"""The social-monitoring channel: public posts about the service, scored for sentiment as they arrive.

A customer's post is a ``social_mention`` (value: its sentiment, -1..1), offered for the employees whose
handles it names; a brand's reply is a ``social_reply`` (value: minutes from the post it answers, set by
:mod:`.threads` once both are stored), offered for the agent whose sign-off ends it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.channel import Channel, FeedbackDraft, IdentityRef
from core.plugins import get_plugins

from .handles import named_handles
from .schemas import SocialPostSchema
from .signoffs import signoff

MENTION = "social_mention"
REPLY = "social_reply"
KIND = MENTION  # the kind of a customer's post, as it was first named

# "ticket #12345", "case #12345", "case 12345": without a "#", four digits at least, so "in case 2 ..." is none.
_TICKET_IN_TEXT = re.compile(r"\b(?:ticket|case)\s*(?:#\s*(\d+)|(?:no\.?\s*|number\s*)?(\d{4,}))\b",
                             re.IGNORECASE)


def stored_id(source: str, external_id: str) -> str:
    """The feedback item's external id: two sources may reuse one post id, so the source is part of it."""
    return f"{source}:{external_id}"


def ticket_ref(data: Mapping[str, Any]) -> str | None:
    """The ticket a post names: the payload's ``ticket_ref``, else a "ticket #N" of its ``ticket_provider``."""
    if data.get("ticket_ref"):
        return data["ticket_ref"]
    match = _TICKET_IN_TEXT.search(data["text"]) if data.get("ticket_provider") else None
    return f"{data['ticket_provider']}:{match.group(1) or match.group(2)}" if match else None


def identities(data: Mapping[str, Any]) -> dict[str, Any]:
    """Whom a post can be credited to: a reply's signing agent (author), a post's named handles (subject)."""
    if data["brand_reply"]:
        agent = signoff(data["text"])
        brand = (data.get("author") or "").lstrip("@")  # feeds write "@AcmeCare", exports "AcmeCare"
        return {"author": IdentityRef("social_signoff", f"{brand}/{agent}")} if agent and brand else {}
    # The text's own @handles first, in the order written: whichever source the post came by, and whether or
    # not it listed them.
    handles = [IdentityRef("social_handle", handle) for handle in named_handles(data["text"], data.get("handles"))]
    return {"subject": handles} if handles else {}


class SocialMonitoring(Channel):
    name = "social_monitoring"
    title = "Social monitoring"
    kinds = (MENTION, REPLY)
    time_field = "posted_at"
    schema = SocialPostSchema

    def to_feedback(self, data: Mapping[str, Any]) -> Iterable[FeedbackDraft]:
        # Scored once, here: a later change of analyser never rewrites what was stored.
        score, label = get_plugins().sentiment(data["text"])
        posted_at = data["posted_at"]
        brand = data["brand_reply"]
        yield FeedbackDraft(
            kind=REPLY if brand else MENTION, external_id=stored_id(data["source"], data["external_id"]),
            occurred_at=posted_at,
            # A brand's own reply is not what a customer says: it keeps its label, and its value is the
            # minutes it took, known once the post it answers is stored.
            value=None if brand else score, scale=None if brand else (-1.0, 1.0), comment=data["text"],
            ticket_ref=ticket_ref(data), respondent=None if brand else data.get("author"),
            identities=identities(data),
            payload={k: v for k, v in data.items() if k != "posted_at"}
            | {"posted_at": posted_at.isoformat(), "sentiment": label, "score": score},
        )
