"""The audit trail: who changed what, when, with the state before and after."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    note: Mapped[str | None] = mapped_column(Text)


def record_audit(session, action: str, entity, *, actor=None, before=None, after=None, note=None) -> AuditEntry:
    """Add an audit entry for ``entity`` to ``session`` (the caller commits it with the change itself)."""
    entry = AuditEntry(action=action, entity_type=type(entity).__tablename__,
                       entity_id=str(entity.id) if entity.id is not None else None,
                       actor_id=getattr(actor, "id", actor), before=before, after=after, note=note)
    session.add(entry)
    return entry
