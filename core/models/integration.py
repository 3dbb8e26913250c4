"""A configured connection to an outside system (a helpdesk, a social source) with its webhook secret."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Needed in plain form to verify HMAC signatures; never logged, never shown after creation.
    webhook_secret: Mapped[str] = mapped_column(String(255))
    settings: Mapped[dict] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:  # keeps the secret out of logs and tracebacks
        return f"<Integration {self.provider}:{self.name}>"
