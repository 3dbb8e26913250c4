"""Where social posts come from: a feed Plaudit polls, or an account that pushes posts to it.

A source keeps what polling needs between runs: the feed's validators (ETag, Last-Modified) for a conditional
GET, and the failures in a row that push its next poll back.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, utcnow

SOURCE_KINDS = ("rss", "push")


class SocialSource(Base):
    """One source of posts about the brand: a feed (``rss``) polled on a schedule, or a ``push`` account."""

    __tablename__ = "sm_sources"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in SOURCE_KINDS)})", name="known_kind"),
        CheckConstraint("failures >= 0", name="failures_not_negative"),
        Index("ix_sm_sources_due", "active", "next_poll_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Slug used as the ``source`` of the posts it brings.
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: The feed's address (rss); None for a push source.
    url: Mapped[str | None] = mapped_column(String(500))
    #: Words a post must contain one of to be kept; empty keeps every post.
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    #: The brand's own handles: a post by one of them is a brand reply.
    handles: Mapped[list] = mapped_column(JSON, default=list)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    #: Failed polls in a row; each doubles the wait before the next (see ``polling.backoff``).
    failures: Mapped[int] = mapped_column(default=0)
    next_poll_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<SocialSource {self.name} ({self.kind})>"
