"""Tickets still open past an SLA target count as misses now, not only once someone solves them.

A ticket's timings became feedback only at its solve, so a ticket left open past its target was no miss in the
period it went overdue, and an agent who held late tickets open until a period had closed kept a better SLA
than one who solved them. :func:`record_overdue` (run by ``plaudit cron``) stores such a ticket's timing item
once the guideline's target has passed: dated when it passed, credited to whoever held the ticket then, its
value the minutes the ticket has been open so far, brought up to date at each sweep while it stays open.

The item's payload says so: ``overdue`` for good, ``open`` while the ticket is. Once the ticket is answered or
solved, the item takes the real minutes and keeps its date, so the miss stays in the period it fell in (here
for an answer, in ``record_timings`` for a solve; a solve with no answer recorded ends the wait for one too).
A ticket the helpdesk then deletes, merges, removes or marks as spam has its overdue items excluded.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, and_, exists, func, literal, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.expression import FunctionElement

from core import local_time
from core.attribution import employees_by_address, joined_by
from core.models import Employee, EmployeeIdentity, Feedback, Ticket, record_audit
from core.models.base import utcnow
from core.models.org import normalise_identity
from core.plugins import get_plugins
from core.tickets import by_provider

from .helpdesks import HELPDESKS
from .ticket_metrics import METRICS, TicketMetrics

log = logging.getLogger(__name__)

#: How far back a sweep looks for targets that passed, and how long an open ticket's minutes are kept up to
#: date. It catches up after a scheduler that was down for days, but a first sweep does not turn every ticket a
#: helpdesk never reported closed into a miss, nor does an abandoned ticket's item change forever.
HORIZON = timedelta(days=30)
#: Statuses of tickets nobody is to work on any more, whatever their helpdesk: they are no one's miss.
GONE = frozenset({"deleted", "spam", "merged", "removed"})
#: Every helpdesk's words for a solved ticket: such a ticket is no miss in the making, though no time came.
SOLVED = frozenset(word for helpdesk in HELPDESKS.values() for word in helpdesk.solved_statuses)
#: The ticket's time that ends each timing.
_ENDS = {"first_response_time": Ticket.first_response_at, "resolution_time": Ticket.resolved_at}


@dataclass
class OverdueSweep:
    """What a sweep did: items stored for tickets that went overdue, open ones brought up to date, ones whose
    ticket has been answered or solved since, and ones whose ticket the helpdesk no longer has."""

    recorded: int = 0
    extended: int = 0
    ended: int = 0
    excluded: int = 0


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


def _status_word():
    return func.lower(func.trim(Ticket.status))


def _holder_at(ticket: Ticket, at: datetime):
    """The assignment that held ``ticket`` at ``at`` (on a tie in time the later one, as ``solver_of``)."""
    held = [a for a in ticket.assignments if a.assigned_at <= at]
    return max(held, key=lambda a: (a.assigned_at, a.id)) if held else None


def overdue_payloads(session: Session, now: datetime, targets: dict[str, float]) -> list[dict]:
    """Timing payloads for the open tickets whose target passed (within :data:`HORIZON`) and that have none."""
    other = aliased(Ticket)
    # A helpdesk that never says when a ticket was first answered would otherwise have every open ticket miss.
    answering = exists(select(other.id).where(other.provider == Ticket.provider, other.first_response_at.is_not(None)))
    candidates = []
    for metric, target in sorted(targets.items()):
        due = now - timedelta(minutes=target)
        timed = (select(Feedback.id).where(Feedback.ticket_id == Ticket.id, Feedback.channel == TicketMetrics.name,
                                           Feedback.kind == metric))
        query = (select(Ticket).options(selectinload(Ticket.assignments))
                 .where(Ticket.resolved_at.is_(None), _ENDS[metric].is_(None), Ticket.opened_at < due,
                        Ticket.opened_at >= due - HORIZON, ~exists(timed),
                        or_(Ticket.status.is_(None), _status_word().not_in(sorted(GONE | SOLVED))))
                 .order_by(Ticket.id))
        if metric == "first_response_time":
            query = query.where(answering)
        for ticket in session.scalars(query):
            breached = ticket.opened_at + timedelta(minutes=target)
            holder = _holder_at(ticket, breached)
            if holder is not None and holder.external_assignee_id:
                candidates.append((metric, ticket, breached, holder.external_assignee_id))
    # Who each holder is now: an identity mapped since the ticket was assigned names its employee too.
    whose = _employees_of(session, {agent for *_, agent in candidates})
    employed = _employed(session, set(whose.values()))
    return [{"ticket": f"{ticket.provider}:{ticket.external_id}", "metric": metric,
             "minutes": round((now - ticket.opened_at).total_seconds() / 60, 2), "at": breached.isoformat(),
             "agent": agent, "open": True}
            # Held by nobody we know, or by someone who had left: it is whoever solves it's, as any late ticket.
            for metric, ticket, breached, agent in candidates
            if agent in whose and employed.get(whose[agent], _never)(breached)]


def _employees_of(session: Session, agents: set[str]) -> dict[str, int]:
    """The employee each helpdesk name (``provider:id``) is an identity of, as ingestion would credit it."""
    refs = {}
    for agent in agents:
        provider, _, external_id = agent.partition(":")
        refs[agent] = (provider, normalise_identity(provider, external_id))
    found: dict[tuple[str, str], int] = {}
    for provider, ids in by_provider(refs.values()).items():
        found.update({(provider, e): emp for e, emp in session.execute(
            select(EmployeeIdentity.external_id, EmployeeIdentity.employee_id)
            .where(EmployeeIdentity.provider == provider, EmployeeIdentity.external_id.in_(ids)))})
        if provider == "email":  # known by their own address too, as ingestion knows them
            for address, (employee_id, *_) in employees_by_address(
                    session, [i for i in ids if (provider, i) not in found]).items():
                found[(provider, address)] = employee_id
    return {agent: found[ref] for agent, ref in refs.items() if ref in found}


def _never(_moment: datetime) -> bool:
    return False


def _employed(session: Session, employee_ids: set[int]) -> dict:
    """For each employee, whether they worked at a moment: joined by then, and not left before its day."""
    def check(started_on, left_on):
        return lambda moment: (joined_by(started_on, moment)
                               and (left_on is None or local_time.day_of(moment) <= left_on))
    if not employee_ids:
        return {}
    return {employee_id: check(started_on, left_on) for employee_id, started_on, left_on, active in session.execute(
        select(Employee.id, Employee.started_on, Employee.left_on, Employee.active)
        .where(Employee.id.in_(sorted(employee_ids)))) if active or left_on is not None}


def _open_items(*where):
    return (select(Feedback, Ticket).join(Ticket, Ticket.id == Feedback.ticket_id)
            .where(Feedback.channel == TicketMetrics.name, Feedback.payload["open"].as_boolean().is_(True), *where)
            .order_by(Feedback.external_id))


def _end_open(session: Session) -> tuple[int, int]:
    """Exclude the overdue items of tickets the helpdesk has deleted, merged, removed or marked as spam, and give
    the open items of tickets answered or solved since their real minutes (audited, keeping their date); return
    how many were ended and how many excluded."""
    from core.ingestion import revise_feedback

    excluded = 0
    # Whether still open or ended already (a helpdesk may give a merged ticket a solve time: Zammad does).
    for item, ticket in session.execute(
            select(Feedback, Ticket).join(Ticket, Ticket.id == Feedback.ticket_id)
            .where(Feedback.channel == TicketMetrics.name, Feedback.payload["overdue"].as_boolean().is_(True),
                   Feedback.status == "accepted", _status_word().in_(sorted(GONE)))
            .order_by(Feedback.external_id)).all():
        record_audit(session, "feedback.excluded", item, before={"status": item.status},
                     after={"status": "excluded"}, note=f"the helpdesk marked ticket {item.ticket_ref} "
                                                         f"{ticket.status.strip().lower()} after it went overdue")
        item.status, item.payload = "excluded", {"overdue": True}
        excluded += 1
    session.flush()
    ended = 0
    for item, ticket in session.execute(_open_items(or_(
            Ticket.resolved_at.is_not(None), and_(Feedback.kind == "first_response_time",
                                                  Ticket.first_response_at.is_not(None))))).all():
        # An answer recorded, else the solve: a ticket solved with no answer waited for one until then.
        end = ticket.first_response_at if item.kind == "first_response_time" else None
        end = end or ticket.resolved_at
        revise_feedback(session, TicketMetrics.name, item.external_id, value=_minutes(ticket.opened_at, end),
                        comment=None, occurred_at=min(item.occurred_at, end), payload={"overdue": True})
        ended += 1
    return ended, excluded


def _minutes(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 60, 2)


def _extend_open(session: Session, now: datetime) -> int:
    """Bring the minutes of every open item up to now, in one statement; return how many.

    The item's own ``open`` is part of the condition: PostgreSQL checks it again on a row that a solve revised
    while this statement waited for it, so a solve is never overwritten with the minutes so far. It leaves
    ``changed_at`` alone: the minutes of a miss grow every sweep by design, and a run that counted the miss
    would otherwise be called out of date every quarter of an hour (appraisal/outdated.py). The solve that
    ends the item changes it.
    """
    minutes = (select(_MinutesSince(literal(now, Ticket.opened_at.type), Ticket.opened_at))
               .where(Ticket.id == Feedback.ticket_id).scalar_subquery())
    result = session.execute(
        update(Feedback).where(Feedback.channel == TicketMetrics.name,
                               Feedback.payload["open"].as_boolean().is_(True),
                               Feedback.occurred_at >= now - HORIZON)
        .values(value=func.round(minutes * 100) / 100).execution_options(synchronize_session=False))
    return result.rowcount or 0


def record_overdue(session: Session, now: datetime | None = None, plugins=None) -> OverdueSweep:
    """End the open items whose ticket has moved on, bring the others up to ``now``, and store an item for each
    open ticket whose SLA target has passed since. Nothing new when the guideline scores no timing against a
    target."""
    from core.ingestion import ingest

    now = now or utcnow()
    sweep = OverdueSweep()
    sweep.ended, sweep.excluded = _end_open(session)
    sweep.extended = _extend_open(session, now)
    targets = sla_targets(session, plugins)
    payloads = overdue_payloads(session, now, targets) if targets else []
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
    log.info("overdue tickets: %d new misses, %d brought up to date, %d ended, %d excluded",
             sweep.recorded, sweep.extended, sweep.ended, sweep.excluded)
    return sweep.__dict__
