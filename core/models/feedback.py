"""Feedback items, the normalised unit every channel produces, with their flags and disputes."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    case,
    event,
    func,
    inspect,
    literal,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

STATUSES = ("accepted", "quarantined", "pending_review", "excluded")
#: The kinds of feedback a customer survey produces: an answer of one of these about a ticket surveyed it.
SURVEY_KINDS = ("csat", "nps", "ces")


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_feedback_employee_occurred", "employee_id", "occurred_at"),
        Index("ix_feedback_kind_occurred", "kind", "occurred_at"),
        # duplicate_respondent reads a customer's answers of a kind about an employee over a window; erasing a
        # customer's data finds their items by the first column.
        Index("ix_feedback_respondent_employee_kind_occurred", "respondent_ref", "employee_id", "kind",
              "occurred_at"),
        # Mapping an identity looks up the waiting items that named it.
        Index("ix_feedback_attributed_identity", "attributed_identity"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="known_status"),
        # Only the items changed or late, by their day: what appraisal.outdated reads of a run's period. (By
        # changed_at alone, each run read every mark made since it, of any period: 160 ms for one run at 150,000.)
        Index("ix_feedback_changed", "occurred_at", "changed_at", sqlite_where=text("changed_at IS NOT NULL"),
              postgresql_where=text("changed_at IS NOT NULL")),
        Index("ix_feedback_previous_occurred", "previous_occurred_at",
              sqlite_where=text("previous_occurred_at IS NOT NULL"),
              postgresql_where=text("previous_occurred_at IS NOT NULL")),
        # A report of some people reads the items moved away from them; deleting an employee clears theirs.
        Index("ix_feedback_previous_employee", "previous_employee_id",
              sqlite_where=text("previous_employee_id IS NOT NULL"),
              postgresql_where=text("previous_employee_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(255))
    occurred_at: Mapped[datetime]
    # Indexed for the API's sync by arrival (received_since), which otherwise reads the whole table each poll.
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    value: Mapped[float | None] = mapped_column(Float)
    scale_min: Mapped[float | None] = mapped_column(Float)
    scale_max: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    ticket_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    #: The linked ticket's category, copied here (and kept when it changes, by core.tickets) so an appraisal
    #: groups a period's items by category in the same scan as its metrics, without joining tickets.
    ticket_category: Mapped[str | None] = mapped_column(String(200))
    respondent_ref: Mapped[str | None] = mapped_column(String(64))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    # The team at the time of the item, so a later transfer does not move old feedback.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    # Which basis attributed it (assignee_at_solve, ..., manual); NULL while it waits in the queue.
    attribution_policy: Mapped[str | None] = mapped_column(String(50))
    attributed_identity: Mapped[str | None] = mapped_column(String(310))
    # While the item waits: the basis the policy accepted for that identity, so mapping the identity later
    # credits the item exactly as ingestion would have (NULL when no basis was acceptable).
    offered_basis: Mapped[str | None] = mapped_column(String(50))
    # Whom a channel suggests while the item waits in the queue (a reply in a thread the employee signed):
    # a suggestion for a person to confirm or reject, never counted for the employee until confirmed.
    proposed_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"),
                                                             index=True)
    status: Mapped[str] = mapped_column(String(20), default="accepted")
    payload: Mapped[dict] = mapped_column(default=dict)
    # Set when feedback_ingested has fired, so a re-run job announces nothing twice.
    announced_at: Mapped[datetime | None]
    #: When the item last changed in a way a run counts (COUNTED_COLUMNS), or arrived late (:func:`late_mark`):
    #: runs of its period made before then do not show it as it is (appraisal/outdated.py). None for most items,
    #: which arrive when they happen and never change, so its index stays small.
    changed_at: Mapped[datetime | None]
    #: Whom it was credited to, and its time, before the change that last moved either: a run made before the
    #: change counted it there (a dispute upheld for a colleague, an answer revised into the next week).
    previous_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    previous_occurred_at: Mapped[datetime | None]

    flags: Mapped[list[Flag]] = relationship(back_populates="feedback", cascade="all, delete-orphan")
    employee = relationship("Employee", foreign_keys=[employee_id])
    proposed_employee = relationship("Employee", foreign_keys=[proposed_employee_id])

    def __repr__(self) -> str:
        return f"<Feedback {self.channel}:{self.external_id} {self.kind}={self.value}>"


#: What a run reads of an item. Changing one of them after a run (a flag or dispute decided, a re-credit, a
#: revised value, a new ticket category) sets ``changed_at``: by the ORM on its own (below), and by each bulk
#: UPDATE of them, which passes ``changed_at`` itself (bulk UPDATEs fire no mapper events).
COUNTED_COLUMNS = ("status", "value", "kind", "occurred_at", "scale_min", "scale_max", "employee_id", "team_id",
                   "ticket_category")


#: An item stored longer than this after its time arrived late: a run of its period may have been made meanwhile.
#: Webhooks and survey answers arrive within seconds; imports, retried deliveries and mystery reports do not.
LATE = timedelta(minutes=10)


def late_mark(occurred_at: datetime, received_at: datetime) -> datetime | None:
    """The ``changed_at`` of an item arriving at ``received_at``: that time if it arrived late, else None."""
    return received_at if occurred_at < received_at - LATE else None


def changed_if(column, new_value):
    """SQL for a bulk UPDATE's ``changed_at`` as it sets ``column`` to ``new_value``: now where the value
    changes, as it was where it does not."""
    return case((column.is_distinct_from(new_value), literal(utcnow(), Feedback.changed_at.type)),
                else_=Feedback.changed_at)


@event.listens_for(Feedback, "before_insert")
def _note_late_arrival(mapper, connection, item: Feedback) -> None:
    if item.changed_at is None and item.occurred_at is not None:
        item.received_at = item.received_at or utcnow()
        item.changed_at = late_mark(item.occurred_at, item.received_at)


#: The columns whose value before a change is kept (``previous_*``), for the runs that counted it there.
_KEPT_BEFORE = {"employee_id": "previous_employee_id", "occurred_at": "previous_occurred_at"}


@event.listens_for(Feedback, "before_update")
def _note_counted_change(mapper, connection, item: Feedback) -> None:
    state = inspect(item)
    changed = False
    for name in COUNTED_COLUMNS:
        history = state.attrs[name].history
        # No old value is known when the attribute was expired before it was set: count that as a change (a
        # run told to look again for nothing, rather than one never told).
        if history.added and (not history.deleted or history.added[0] != history.deleted[0]):
            changed = True
            if name in _KEPT_BEFORE and history.deleted:
                setattr(item, _KEPT_BEFORE[name], history.deleted[0])
    if changed:
        item.changed_at = utcnow()


#: The channel whose items are ticket timings (channels/post_ticket_survey/ticket_metrics.py).
TICKET_TIMINGS = "ticket_metrics"


def still_open():
    """SQL: whether an item is a ticket's timing kept while the ticket is open past its SLA target, its value the
    minutes so far (``"open"`` in its payload: channels/post_ticket_survey/overdue.py). False for every other."""
    # Only that channel's "open" is read: another channel's payload may hold the key with any value, which
    # PostgreSQL would refuse to read as a boolean.
    return case((Feedback.channel == TICKET_TIMINGS, func.coalesce(Feedback.payload["open"].as_boolean(), False)),
                else_=False)


class Flag(Base):
    """An integrity check's objection, until HR decides it.

    Either to one item (``feedback_id``), which stays out of the numbers meanwhile, or to an employee's
    period as a whole (``employee_id`` with the period), such as surveys suppressed on their tickets; that
    holds the employee's incentives.
    """

    __tablename__ = "flags"
    __table_args__ = (
        CheckConstraint("(feedback_id IS NULL) <> (employee_id IS NULL)", name="one_subject"),
        UniqueConstraint("check", "employee_id", "period_start", "period_end"),
        # The period flags alone (item flags have no period): what the time-zone check reads.
        Index("ix_flags_period", "period_start", "period_end", sqlite_where=text("period_start IS NOT NULL"),
              postgresql_where=text("period_start IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    check: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))  # upheld (exclude) | dismissed (count)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    feedback: Mapped[Feedback | None] = relationship(back_populates="flags")


class Dispute(Base):
    """An employee's claim that an item was wrongly attributed to them or should not count."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    raised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | upheld | rejected
    outcome: Mapped[str | None] = mapped_column(Text)
    #: When upheld: the employee the item is credited to instead (None: it no longer counts for anyone).
    reassigned_to: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
