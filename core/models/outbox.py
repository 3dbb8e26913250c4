"""Follow-up jobs written in the same transaction as the work that needs them (a transactional outbox)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class PendingJob(Base):
    """A follow-up job, kept until it has succeeded: while queued, while Redis is away, between retries."""

    __tablename__ = "pending_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None: dispatch now. Otherwise not before then (a lease while queued or running, or a retry backoff).
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: When its last run failed, while it waits out the backoff; None once it is handed over again (queued or
    #: running), and for a row never run. Only such a row may be given up on (core.jobs.discard_failed).
    failed_at: Mapped[datetime | None]
