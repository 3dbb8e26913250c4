"""Where social posts come from: a feed Plaudit polls, an account that pushes posts to it, or a platform's API
read by a client plugin.

A source keeps what polling needs between runs: its client's state (a feed's ETag and Last-Modified for a
conditional GET, an API's cursor), and the failures in a row that push its next poll back. A push source keeps
the secret its deliveries are signed with.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, utcnow


class SocialSource(Base):
    """One source of posts about the brand: a feed (``rss``) or a client plugin's kind polled on a schedule, or a
    ``push`` account."""

    __tablename__ = "sm_sources"
    __table_args__ = (
        # Which kinds exist depends on the plugins loaded: save_source checks it, the table only its shape.
        CheckConstraint("kind <> ''", name="kind_not_empty"),
        CheckConstraint("failures >= 0", name="failures_not_negative"),
        Index("ix_sm_sources_due", "active", "next_poll_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Slug used as the ``source`` of the posts it brings.
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    #: The feed's or the API's address; None for a push source.
    url: Mapped[str | None] = mapped_column(String(500))
    #: Words to watch: a post naming one of them (or a handle) is kept; with no keywords and no handles, all are.
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    #: The brand's own handles to watch: a post naming one is kept, and a post by one is a brand reply.
    handles: Mapped[list] = mapped_column(JSON, default=list)
    #: What the source's client keeps between polls (a feed's ``etag`` and ``last_modified``, a cursor).
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The secret a push source's deliveries are signed with (HMAC-SHA256). Needed in plain form to verify
    #: them, as an integration's webhook secret is; shown once when made, never logged.
    push_secret: Mapped[str | None] = mapped_column(String(255))
    #: Failed polls in a row; each doubles the wait before the next (see ``polling.backoff``).
    failures: Mapped[int] = mapped_column(default=0)
    next_poll_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    #: The last poll that succeeded: a client fetches what is newer (``since``).
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:  # keeps the push secret out of logs and tracebacks
        return f"<SocialSource {self.name} ({self.kind})>"
