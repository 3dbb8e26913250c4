"""The social-monitoring channel: public posts about the service, scored for sentiment as they arrive."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.channel import Channel, FeedbackDraft
from core.plugins import get_plugins

from .schemas import SocialPostSchema

KIND = "social_mention"


def stored_id(source: str, external_id: str) -> str:
    """The feedback item's external id: two sources may reuse one post id, so the source is part of it."""
    return f"{source}:{external_id}"


class SocialMonitoring(Channel):
    name = "social_monitoring"
    title = "Social monitoring"
    kinds = (KIND,)
    schema = SocialPostSchema

    def to_feedback(self, data: Mapping[str, Any]) -> Iterable[FeedbackDraft]:
        # Scored once, here: a later change of analyser never rewrites what was stored.
        score, label = get_plugins().sentiment(data["text"])
        posted_at = data["posted_at"]
        yield FeedbackDraft(
            kind=KIND, external_id=stored_id(data["source"], data["external_id"]), occurred_at=posted_at,
            # A brand's own reply is not what a customer says: it keeps its label but counts in no score.
            value=None if data["brand_reply"] else score, scale=(-1.0, 1.0), comment=data["text"],
            respondent=None if data["brand_reply"] else data.get("author"),
            payload={k: v for k, v in data.items() if k != "posted_at"}
            | {"posted_at": posted_at.isoformat(), "sentiment": label, "score": score},
        )
