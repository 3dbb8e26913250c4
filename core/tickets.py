"""Helpdesk tickets: timings checked, stored once per provider and id, with the history of assignees.

Channels and imports hand in :class:`TicketUpdate` values; the caller owns the transaction.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session, selectinload

from .attribution import employees_by_address
from .channel import IdentityRef
from .models import (
    SURVEY_KINDS,
    EmployeeIdentity,
    Feedback,
    Ticket,
    TicketAssignment,
    changed_if,
    utcnow,
)
from .storable_text import unstorable_text
from .ticket_categories import category_key, category_name, category_spellings

_TEXTS = ("provider", "external_id", "subject", "category", "contact_channel", "status")
_FIELDS = ("subject", "category", "contact_channel", "status", "opened_at", "first_response_at", "resolved_at")
_LIMITS = {name: Ticket.__table__.c[name].type.length for name in _TEXTS}
_SUBJECT_LIMIT = _LIMITS["subject"]
#: Each half of a stored "provider:id" reference (external_assignee_id holds 255, last_public_replier 310).
_REF_LIMIT = 120
# A ticket opens, is first answered and is solved once: a later "closed" or an older snapshot replayed must
# not move these (nor re-survey the solve); an exact time that is earlier than an estimate does.
_EARLIEST = {"opened_at", "first_response_at", "resolved_at"}
# What a ticket is now: the newest snapshot's word stands.
_LATEST = {"subject", "category", "contact_channel", "status"}


@dataclass
class TicketUpdate:
    """What an outside system says about a ticket now; None leaves a stored value as it is."""

    provider: str
    external_id: str
    subject: str | None = None
    category: str | None = None
    contact_channel: str | None = None
    status: str | None = None
    opened_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    assignee: IdentityRef | None = None
    #: When the assignee took the ticket over; defaults to the update's latest timestamp.
    assigned_at: datetime | None = None
    #: Who to ask about the solve; used for the survey invitation only, never stored on the ticket.
    requester_email: str | None = None
    #: An agent's public reply seen in this update, and when: the latest one seen is kept.
    public_replier: IdentityRef | None = None
    public_reply_at: datetime | None = None
    #: When the helpdesk last changed the ticket as this update shows it (its ``updated_at``); defaults to
    #: the update's latest timestamp. Status, subject, category and channel follow the newest snapshot.
    observed_at: datetime | None = None

    def observed(self) -> datetime | None:
        """The time this snapshot shows the ticket at: ``observed_at``, else its latest timestamp."""
        return self.observed_at or max((t for t in (self.resolved_at, self.first_response_at, self.opened_at,
                                                    self.assigned_at) if t), default=None)


def ticket_problems(update: TicketUpdate) -> dict[str, list[str]]:
    """Name the fields of ``update`` that cannot be stored, then the timings that contradict each other.

    Texts must be strings without NUL characters (PostgreSQL refuses them) that fit their column; such an
    update is refused naming the field. The subject alone is never too long: it is a label for people that
    a helpdesk lets run to any length, so :func:`upsert_tickets` cuts it to its column (ending in "…").
    """
    problems: dict[str, list[str]] = {}
    texts = {name: getattr(update, name) for name in _TEXTS}
    for role in ("assignee", "public_replier"):  # stored as "provider:id"
        ref = getattr(update, role)
        if ref is not None:
            texts[f"{role}.provider"], texts[f"{role}.id"] = ref.provider, ref.external_id
    for name, value in texts.items():
        limit = None if name == "subject" else _LIMITS.get(name.split(".")[-1], _REF_LIMIT)
        problem = _text_problem(value, limit)
        if problem:
            problems[name] = [problem]
    return {**problems, **timing_problems(update)}


def _text_problem(value, limit: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return f"expected text, not {type(value).__name__}"
    for _where, problem in unstorable_text(value):  # NUL, or half a character (core.storable_text)
        return problem
    if limit is not None and len(value) > limit:
        return f"longer than {limit} characters"
    return None


def timing_problems(update: TicketUpdate) -> dict[str, list[str]]:
    """Name the timings that contradict each other; such a ticket must be refused, not averaged."""
    problems: dict[str, list[str]] = {}
    opened, first, resolved = update.opened_at, update.first_response_at, update.resolved_at
    if opened and first and first < opened:
        problems["first_response_at"] = [f"{first.isoformat()} is before the ticket opened ({opened.isoformat()})"]
    if first and resolved and resolved < first:
        problems["resolved_at"] = [f"{resolved.isoformat()} is before the first response ({first.isoformat()})"]
    elif opened and resolved and resolved < opened:
        problems["resolved_at"] = [f"{resolved.isoformat()} is before the ticket opened ({opened.isoformat()})"]
    return problems


def upsert_tickets(session: Session, updates: Sequence[TicketUpdate]) -> dict[tuple[str, str], Ticket]:
    """Create or update the tickets, appending an assignment whenever the assignee changes.

    A constant number of queries per call, however many updates. Check :func:`ticket_problems` first.
    """
    tickets = {}
    for provider, ids in by_provider((u.provider, u.external_id) for u in updates).items():
        tickets.update({(t.provider, t.external_id): t for t in session.scalars(
            select(Ticket).options(selectinload(Ticket.assignments))
            .where(Ticket.provider == provider, Ticket.external_id.in_(ids)))})
    employees = {}
    for provider, ids in by_provider((u.assignee.provider, u.assignee.external_id)
                                      for u in updates if u.assignee).items():
        employees.update({(provider, e): emp for e, emp in session.execute(
            select(EmployeeIdentity.external_id, EmployeeIdentity.employee_id)
            .where(EmployeeIdentity.provider == provider, EmployeeIdentity.external_id.in_(ids)))})
        if provider == "email":  # known by their own address too (core.attribution.employees_by_address)
            for address, (employee_id, *_) in employees_by_address(
                    session, [i for i in ids if (provider, i) not in employees]).items():
                employees[(provider, address)] = employee_id
    spelt = category_spellings(session, [u.category for u in updates if u.category is not None])
    recategorised = set()
    for update in updates:
        key = (update.provider, update.external_id)
        ticket = tickets.get(key)
        if ticket is None:
            ticket = tickets[key] = Ticket(provider=update.provider, external_id=update.external_id)
            session.add(ticket)
        category = ticket.category
        observed = update.observed()
        # An older snapshot (a delivery overtaken by a later one) still adds its timings and its place in
        # the assignment history, but does not turn back what the newer one said.
        stale = observed is not None and ticket.observed_at is not None and observed < ticket.observed_at
        if observed is not None and not stale:
            ticket.observed_at = observed
        for name in _FIELDS:
            value = getattr(update, name)
            if name == "category" and value is not None:
                # None for spaces alone: as good as no category given
                value = spelt.get(category_key(value), category_name(value) or None)
            if value is None or (stale and name in _LATEST):
                continue
            current = getattr(ticket, name)
            if name in _EARLIEST and current is not None:
                value = min(value, current)  # a ticket opens and is first answered once
            if name == "subject":
                value = _cut(value, _SUBJECT_LIMIT)
            setattr(ticket, name, value)
        if update.assignee is not None:
            _assign(ticket, update, employees.get((update.assignee.provider, update.assignee.external_id)))
        if ticket.id is not None and ticket.category != category:
            recategorised.add(ticket.id)
        if update.public_replier is not None and update.public_reply_at is not None and (
                ticket.last_public_reply_at is None or update.public_reply_at >= ticket.last_public_reply_at):
            ticket.last_public_replier = str(update.public_replier)
            ticket.last_public_reply_at = update.public_reply_at
    for ticket in tickets.values():
        ticket.solver_id = solver_of(ticket)
    session.flush()
    if recategorised:  # the items about them carry the category (Feedback.ticket_category)
        session.execute(sa_update(Feedback).where(Feedback.ticket_id.in_(sorted(recategorised)))
                        .values(ticket_category=_category_of_ticket(),
                                changed_at=changed_if(Feedback.ticket_category, _category_of_ticket()))
                        .execution_options(synchronize_session=False))
    _link_earlier_feedback(session, tickets.values())
    return tickets


def solver_of(ticket: Ticket) -> int | None:
    """Who solved ``ticket``: whoever held it at ``resolved_at`` (the latest assignment at or before it), or,
    with no assignment that early, the current assignee. None while it is open, or when the holder is not
    an employee we know."""
    if ticket.resolved_at is None:
        return None
    # Stored assignments come in id order and new ones after them, so on a tie in time the later one wins.
    held = [(a.assigned_at, position, a) for position, a in enumerate(
        sorted(ticket.assignments, key=lambda a: a.id if a.id is not None else math.inf))
        if a.assigned_at <= ticket.resolved_at]
    return max(held, key=lambda entry: entry[:2])[2].employee_id if held else ticket.assignee_id


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _link_earlier_feedback(session: Session, tickets) -> None:
    """Point feedback that named these tickets before they were stored (a rating before the ticket) at them,
    with the ticket's category, and note the survey answers among them on their tickets."""
    refs = sorted(f"{t.provider}:{t.external_id}" for t in tickets)
    if not refs:
        return
    ticket_of = (select(Ticket.id).where((Ticket.provider + ":" + Ticket.external_id) == Feedback.ticket_ref)
                 .correlate(Feedback).scalar_subquery())
    linked = session.execute(sa_update(Feedback).where(Feedback.ticket_id.is_(None), Feedback.ticket_ref.in_(refs))
                             .values(ticket_id=ticket_of).execution_options(synchronize_session=False)).rowcount
    if not linked:
        return
    ids = sorted(t.id for t in tickets)
    session.execute(sa_update(Feedback).where(Feedback.ticket_id.in_(ids), Feedback.ticket_ref.in_(refs))
                    .values(ticket_category=_category_of_ticket(),
                                changed_at=changed_if(Feedback.ticket_category, _category_of_ticket()))
                        .execution_options(synchronize_session=False))
    note_surveys(session, dict(session.execute(
        select(Feedback.ticket_id, func.max(Feedback.occurred_at))
        .where(Feedback.ticket_id.in_(ids), Feedback.kind.in_(SURVEY_KINDS)).group_by(Feedback.ticket_id)).all()))


def _category_of_ticket():
    return (select(Ticket.category).where(Ticket.id == Feedback.ticket_id).correlate(Feedback)
            .scalar_subquery())


def note_surveys(session: Session, seen: Mapping[int, datetime]) -> None:
    """Note that these tickets were surveyed at these times (an invitation for a solve, at the solve's time, or
    a survey answer): each keeps the latest in ``Ticket.survey_seen_at``. One statement, in ticket order.

    It never moves back: every path that changes an answer's time moves it later (a changed answer is a new one).
    """
    if not seen:
        return
    table = Ticket.__table__
    session.connection().execute(
        sa_update(table).where(table.c.id == bindparam("ticket"),
                               or_(table.c.survey_seen_at.is_(None), table.c.survey_seen_at < bindparam("seen")))
        # updated_at is the helpdesk's last word on the ticket (the admin page's "last heard from"): a survey
        # is not one, so it stays as it was.
        .values(survey_seen_at=bindparam("seen"), updated_at=table.c.updated_at),
        [{"ticket": ticket_id, "seen": when} for ticket_id, when in sorted(seen.items())])


def by_provider(keys) -> dict[str, list[str]]:
    """Group (provider, id) pairs: one plain IN list per provider, as a tuple IN of thousands of pairs is
    more than PostgreSQL's parser will take."""
    grouped: dict[str, set[str]] = {}
    for provider, external_id in keys:
        grouped.setdefault(provider, set()).add(external_id)
    return {provider: sorted(ids) for provider, ids in grouped.items()}


def _assign(ticket: Ticket, update: TicketUpdate, employee_id: int | None) -> None:
    """Record who had the ticket at ``update``'s time; the current assignee is the latest one seen.

    Deliveries can arrive out of order, so an older observation joins the history in its place without
    taking the ticket away from whoever holds it now.
    """
    external = str(update.assignee)
    when = update.assigned_at or max(
        (t for t in (update.resolved_at, update.first_response_at, update.opened_at) if t), default=None) or utcnow()
    history = sorted(ticket.assignments, key=lambda a: a.assigned_at)
    before = [a for a in history if a.assigned_at <= when]
    if before and before[-1].external_assignee_id == external:
        return  # no change at that point in time
    ticket.assignments.append(TicketAssignment(employee_id=employee_id, external_assignee_id=external,
                                               assigned_at=when))
    latest = max(ticket.assignments, key=lambda a: a.assigned_at)
    ticket.assignee_id = latest.employee_id
