"""Tickets still open past an SLA target count as misses now, not only once someone solves them.

A ticket's timings became feedback only at its first response and its solve, so a ticket left open past its
target was no miss in the period it went overdue, and an agent who held late tickets open until a period had
closed kept a better SLA than one who solved them. :func:`record_overdue` (run by ``plaudit cron``) stores
such a ticket's timing item as soon as the guideline's target has passed: dated when the target passed,
credited to whoever held the ticket then, its value the minutes the ticket has been open so far, and kept up
to date at each sweep while the ticket stays open. Once the ticket is answered or solved, ``record_timings``
revises the item to the real minutes, and it keeps its date, so the miss stays in the period it fell in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, exists, literal, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.expression import FunctionElement

from core.models import Feedback, Ticket
from core.models.base import utcnow
from core.plugins import get_plugins

from .helpdesks import HELPDESKS
from .ticket_metrics import METRICS, TicketMetrics

log = logging.getLogger(__name__)

#: How far back a sweep looks for targets that passed. It catches up after a scheduler that was down for
#: days, but a first sweep does not turn every ticket a helpdesk never reported closed into a miss.
HORIZON = timedelta(days=30)
#: Statuses of tickets nobody is to work on any more, whatever their helpdesk: they are no one's miss.
GONE = frozenset({"deleted", "spam", "merged"})
#: The ticket's time that ends each timing.
_ENDS = {"first_response_time": Ticket.first_response_at, "resolution_time": Ticket.resolved_at}


@dataclass
class OverdueSweep:
    """What a sweep did: items stored for tickets that went overdue, and open ones whose minutes grew."""

    recorded: int = 0
    extended: int = 0


class _MinutesSince(FunctionElement):
    """Minutes from a stored time to a later one, in SQL (the two databases spell it differently)."""

    type = Float()
    inherit_cache = True


@compiles(_MinutesSince, "postgresql")
def _minutes_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 60.0"


@compiles(_MinutesSince, "sqlite")
def _minutes_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({later}) - julianday({earlier})) * 1440.0"


def sla_targets(session: Session, plugins=None) -> dict[str, float]:
    """The target, in minutes, of each timing the guideline in force scores with a ``target_minutes``: the
    smallest where several of its rules read one timing. Empty before a guideline is published."""
    from appraisal.guidelines import current_guideline, rule_params

    guideline = current_guideline(session)
    if guideline is None:
        return {}
    rules = (plugins or get_plugins()).scoring_rules
    targets: dict[str, float] = {}
    for metric in guideline.document["metrics"]:
        rule = rules.get(metric["rule"])
        target = rule_params(guideline.document, rule).get("target_minutes") if rule else None
        if target is None:
            continue
        for kind in set(rule.kinds) & set(METRICS):
            targets[kind] = min(targets.get(kind, target), float(target))
    return targets


def _gone(ticket: Ticket) -> bool:
    """Whether the helpdesk says the ticket is solved or done with, though no time of it came."""
    if ticket.status is None:
        return False
    # A generic integration's tickets are under its own namespace: they take the generic format's words.
    helpdesk = HELPDESKS.get(ticket.provider, HELPDESKS["generic"])
    word = ticket.status.strip().lower()
    return word in GONE or helpdesk.solved_now(word)


def _holder_at(ticket: Ticket, at: datetime) -> str | None:
    """Who held ``ticket`` at ``at``, as the helpdesk names them; None when nobody we know did."""
    held = [a for a in ticket.assignments if a.assigned_at <= at]
    return max(held, key=lambda a: a.assigned_at).external_assignee_id if held else None


def overdue_payloads(session: Session, now: datetime, targets: dict[str, float]) -> list[dict]:
    """Timing payloads for the open tickets whose target passed (within :data:`HORIZON`) and that have none."""
    # A helpdesk that never says when a ticket was first answered would otherwise have every open ticket miss.
    answering = set(session.scalars(select(Ticket.provider).where(Ticket.first_response_at.is_not(None))
                                    .group_by(Ticket.provider)))
    payloads = []
    for metric, target in sorted(targets.items()):
        due = now - timedelta(minutes=target)
        timed = (select(Feedback.id).where(Feedback.ticket_id == Ticket.id, Feedback.channel == TicketMetrics.name,
                                           Feedback.kind == metric))
        query = (select(Ticket).options(selectinload(Ticket.assignments))
                 .where(Ticket.resolved_at.is_(None), _ENDS[metric].is_(None), Ticket.opened_at < due,
                        Ticket.opened_at >= due - HORIZON, ~exists(timed))
                 .order_by(Ticket.id))
        if metric == "first_response_time":
            query = query.where(Ticket.provider.in_(sorted(answering)))
        for ticket in session.scalars(query):
            breached = ticket.opened_at + timedelta(minutes=target)
            agent = _holder_at(ticket, breached)
            if agent is None or _gone(ticket):
                continue  # nobody's yet: at its solve it is the solver's, as any late ticket
            payloads.append({"ticket": f"{ticket.provider}:{ticket.external_id}", "metric": metric,
                             "minutes": round((now - ticket.opened_at).total_seconds() / 60, 2),
                             "at": breached.isoformat(), "agent": agent, "open": True})
    return payloads


def _extend_open(session: Session, now: datetime) -> int:
    """Bring the minutes of every open ticket's item up to now, in one statement per timing; return how many."""
    extended = 0
    for metric, end in _ENDS.items():
        still_open = select(Ticket.id).where(Ticket.resolved_at.is_(None), end.is_(None))
        minutes = (select(_MinutesSince(literal(now, Ticket.opened_at.type), Ticket.opened_at))
                   .where(Ticket.id == Feedback.ticket_id).scalar_subquery())
        result = session.execute(
            update(Feedback).where(Feedback.channel == TicketMetrics.name, Feedback.kind == metric,
                                   Feedback.ticket_id.in_(still_open))
            .values(value=minutes).execution_options(synchronize_session=False))
        extended += result.rowcount or 0
    return extended


def record_overdue(session: Session, now: datetime | None = None, plugins=None) -> OverdueSweep:
    """Store a timing item for each open ticket whose SLA target has passed, and bring the minutes of those
    stored before up to ``now``. Nothing when the guideline in force scores no timing against a target."""
    from core.ingestion import ingest

    now = now or utcnow()
    targets = sla_targets(session, plugins)
    sweep = OverdueSweep()
    if not targets:
        return sweep
    sweep.extended = _extend_open(session, now)
    payloads = overdue_payloads(session, now, targets)
    if payloads:
        report = ingest(session, TicketMetrics.name, payloads)
        for rejected in report.rejected:  # not expected: the payloads are built from stored tickets
            log.warning("overdue timing %s refused: %s", payloads[rejected.index]["ticket"], rejected.errors)
        sweep.recorded = len(report.created)
    return sweep


def sweep_overdue() -> dict[str, int]:
    """Job (``plaudit cron``, every quarter of an hour): :func:`record_overdue`, in a transaction of its own."""
    from core import jobs
    from core.db import transaction

    with jobs.job_app(), transaction() as session:
        sweep = record_overdue(session)
    log.info("overdue tickets: %d new misses, %d open ones brought up to date", sweep.recorded, sweep.extended)
    return sweep.__dict__
