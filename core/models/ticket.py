"""Helpdesk tickets with their timings and the history of who was assigned."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(200), index=True)
    contact_channel: Mapped[str | None] = mapped_column(String(50))  # email, phone, chat, ...
    status: Mapped[str | None] = mapped_column(String(50))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"),
                                                       index=True)
    opened_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    #: Who had the ticket when it was solved (the latest assignment at or before ``resolved_at``; with none
    #: that early, the assignee), kept by core.tickets as deliveries arrive. Period checks group thousands of
    #: solved tickets by it; working it out from the history at each read cost seconds at a million items.
    solver_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"), index=True)
    #: The latest time the ticket was surveyed: an invitation for one of its solves (at that solve's time) or
    #: a survey answer about it. Kept by core.tickets' ``note_surveys``, for the same period checks.
    survey_seen_at: Mapped[datetime | None]
    #: The agent who last replied in public, as the helpdesk names them ("freshdesk:501"), and when.
    last_public_replier: Mapped[str | None] = mapped_column(String(310))
    last_public_reply_at: Mapped[datetime | None]
    #: The helpdesk's time of the latest snapshot applied: an older snapshot arriving later (deliveries
    #: overtake each other) must not turn a solved ticket back to open.
    observed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    assignments: Mapped[list[TicketAssignment]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketAssignment.assigned_at")


class TicketCategory(Base):
    """A ticket category as the organisation spells it: the first spelling stored (or the name HR gave it), which
    every later one that differs only in case or spacing takes ("billing ", "BILLING"), so the case mix does not
    split it in two."""

    __tablename__ = "ticket_categories"

    #: ``core.ticket_categories.category_key`` of a spelling: spaces collapsed, case folded, compatibility forms
    #: composed. A key left by a rename spells the name HR gave (several keys may spell one name).
    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class TicketAssignment(Base):
    """One period during which a ticket was assigned to someone (or to nobody we know)."""

    __tablename__ = "ticket_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    external_assignee_id: Mapped[str | None] = mapped_column(String(255))
    assigned_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="assignments")
