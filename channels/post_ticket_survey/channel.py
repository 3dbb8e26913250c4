"""The post-ticket survey channel."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.channel import Channel, FeedbackDraft, IdentityRef

from .blueprint import bp
from .demo import survey_responses
from .schemas import SurveyResponseSchema


class PostTicketSurvey(Channel):
    name = "post_ticket_survey"
    title = "Post-ticket surveys"
    kinds = ("csat", "nps", "ces")
    time_field = "answered_at"
    schema = SurveyResponseSchema
    blueprint = bp

    def to_feedback(self, data: Mapping[str, Any]) -> Iterable[FeedbackDraft]:
        agent = data.get("agent")
        identities = {basis: IdentityRef(a["provider"], a["id"]) for basis, a in data.get("agents", {}).items()}
        if agent:
            identities[data["agent_basis"]] = IdentityRef(agent["provider"], agent["id"])
        yield FeedbackDraft(
            kind=data["kind"], external_id=data["response_id"], occurred_at=data["answered_at"],
            value=float(data["rating"]), scale=data["scale"], comment=(data.get("comment") or "").strip() or None,
            ticket_ref=data.get("ticket_id"), respondent=data.get("respondent"), identities=identities,
            payload={k: v for k, v in data.items() if k not in ("answered_at", "respondent")}
            | {"answered_at": data["answered_at"].isoformat()},
        )

    def reserved_ids(self, session) -> tuple[str, ...]:
        """Ratings delivered by a helpdesk (``zendesk:rating:...``), a generic integration (its namespace) and the
        survey pages (``pts-invitation-...``)."""
        from sqlalchemy import select

        from core.models import Integration

        from .helpdesks import HELPDESKS
        from .invitations import INVITATION_IDS
        from .webhooks import generic_namespace

        generic = session.scalars(select(Integration).where(Integration.provider == "generic")).all()
        return (*(f"{provider}:" for provider in sorted(HELPDESKS)),
                *sorted(f"{generic_namespace(integration)}:" for integration in generic), INVITATION_IDS)

    def demo_payloads(self, now, rng, agents):
        return survey_responses(now, rng, agents)
