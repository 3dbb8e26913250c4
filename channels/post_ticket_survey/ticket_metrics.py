"""Ticket timings as feedback: first-response and resolution minutes, credited to the assignee at solve,
so SLA attainment is a scoring rule like any other."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from marshmallow import Schema, fields, validate

from core.channel import Channel, FeedbackDraft, IdentityRef
from core.demo import demo_window
from core.models import Ticket

METRICS = ("first_response_time", "resolution_time")


class TicketMetricSchema(Schema):
    ticket = fields.String(required=True, validate=validate.Length(min=1, max=255),
                           metadata={"description": "provider:id, as in Feedback.ticket_ref"})
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    minutes = fields.Float(required=True, validate=validate.Range(min=0))
    at = fields.AwareDateTime(required=True)
    agent = fields.String(allow_none=True, metadata={"description": "provider:id of the assignee at solve"})
    open = fields.Boolean(load_default=False, metadata={
        "description": "the ticket is still open past its target: minutes so far, dated when the target passed"})


class TicketMetrics(Channel):
    name = "ticket_metrics"
    title = "Ticket timings"
    kinds = METRICS
    schema = TicketMetricSchema
    # Timings are worked out from the tickets themselves (record_timings): a token sending one would give a
    # ticket a timing its own times do not show, and take the id its real timing is stored under.
    api_ingest = False

    def to_feedback(self, data: Mapping[str, Any]) -> Iterable[FeedbackDraft]:
        identities = {}
        if data.get("agent"):
            provider, _, external_id = data["agent"].partition(":")
            identities["assignee_at_solve"] = IdentityRef(provider, external_id)
        yield FeedbackDraft(kind=data["metric"], external_id=f"{data['ticket']}:{data['metric']}",
                            occurred_at=data["at"], value=data["minutes"], ticket_ref=data["ticket"],
                            identities=identities, payload={"overdue": True, "open": True} if data["open"] else {})


    def demo_payloads(self, now, rng, agents):
        """Twelve weeks of solved demo tickets: most answered within the hour, a tail that is not."""
        start, span = demo_window(now, 12)
        for index in range(1, 12 * 120 + 1):
            agent = rng.choice(agents)
            opened = start + timedelta(seconds=rng.uniform(0, span - 3 * 86400))
            first = rng.lognormvariate(3.4, 0.9)  # minutes; median about half an hour
            resolved = first + rng.lognormvariate(6.2, 1.0)
            for metric, minutes in (("first_response_time", first), ("resolution_time", resolved)):
                yield {"ticket": f"demo:{index}", "metric": metric, "minutes": round(minutes, 1),
                       "at": (opened + timedelta(minutes=minutes)).isoformat(), "agent": str(agent)}


def metric_payloads(tickets: Iterable[Ticket]) -> list[dict]:
    """The timing payloads of solved tickets: minutes from opening to first response and to resolution."""
    payloads = []
    for ticket in tickets:
        if ticket.resolved_at is None or ticket.opened_at is None:
            continue
        held = [a for a in ticket.assignments if a.assigned_at <= ticket.resolved_at] or list(ticket.assignments)
        agent = max(held, key=lambda a: a.assigned_at).external_assignee_id if held else None
        ref = f"{ticket.provider}:{ticket.external_id}"
        for metric, at in (("first_response_time", ticket.first_response_at), ("resolution_time", ticket.resolved_at)):
            if at is not None and at >= ticket.opened_at:
                payloads.append({"ticket": ref, "metric": metric, "at": at.isoformat(), "agent": agent,
                                 "minutes": round((at - ticket.opened_at).total_seconds() / 60, 2)})
    return payloads


def record_timings(session, tickets: Iterable[Ticket]):
    """Store the timings of solved tickets; a timing corrected since (an exact solve time arriving after an
    estimate, say) revises the stored item, audited, so SLA attainment follows the best knowledge.

    The item of a ticket that went overdue while open (``overdue.record_overdue``) takes the real minutes
    but keeps its date, when the target passed, so the miss stays in the period it fell in, then and at every
    later correction.
    """
    from sqlalchemy import select

    from core.ingestion import ingest, revise_feedback
    from core.models import Feedback

    payloads = metric_payloads(tickets)
    report = ingest(session, TicketMetrics.name, payloads)
    if report.duplicates:
        wanted = {f"{p['ticket']}:{p['metric']}": p for p in payloads}
        stored = session.execute(select(Feedback.external_id, Feedback.value, Feedback.occurred_at,
                                        Feedback.payload).where(
            Feedback.id.in_([d.feedback_id for d in report.duplicates]))).all()
        for external_id, value, occurred_at, stored_payload in stored:
            payload = wanted[external_id]
            at = datetime.fromisoformat(payload["at"])
            marked = stored_payload or {}
            if marked.get("overdue"):  # for good: a correction after the solve does not move the miss either
                at = min(at, occurred_at)
            if value != payload["minutes"] or marked.get("open") or (marked.get("overdue") and at != occurred_at):
                revise_feedback(session, TicketMetrics.name, external_id, value=payload["minutes"], comment=None,
                                occurred_at=at, payload={"overdue": True} if marked.get("overdue") else None)
    return report
