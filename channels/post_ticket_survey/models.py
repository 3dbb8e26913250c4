"""The channel's own tables: versioned survey templates and the invitations sent after a solve."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models import Base, Ticket, utcnow


class SurveyTemplate(Base):
    """One version of a survey: its questions and their wording. Editing makes a new version."""

    __tablename__ = "pts_survey_templates"
    __table_args__ = (UniqueConstraint("slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str | None] = mapped_column(Text)
    #: [{"key", "kind": csat|nps|ces, "scale": [low, high], "wording", "low_label", "high_label"}]
    questions: Mapped[list] = mapped_column(JSON)
    comment_prompt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def hash_survey_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(Base):
    """An invitation to rate one solve of one ticket; its link carries a token stored only as a hash."""

    __tablename__ = "pts_invitations"
    # One invitation per ticket and solve time; invite_solved also keeps to one per ticket, since a ticket's
    # solve time is the first one seen (core/tickets.py).
    __table_args__ = (UniqueConstraint("ticket_id", "solved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The link's token is HMAC(secret key, nonce): only its hash is looked up, and the nonce alone is useless.
    token_nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("pts_survey_templates.id"))
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id", ondelete="SET NULL"))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"), index=True)
    #: The assignee at solve as the helpdesk names them, e.g. "zendesk:135", for attribution.
    agent_identity: Mapped[str | None] = mapped_column(String(310))
    solved_at: Mapped[datetime]
    recipient_email: Mapped[str | None] = mapped_column(String(320))
    respondent_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    delivery: Mapped[str] = mapped_column(String(10))  # email | link
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    #: Until then a new answer replaces the last one; after it the answer stands.
    answer_window_ends_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship()
    template: Mapped[SurveyTemplate] = relationship()

    def issue_token(self, secret_key: str) -> str:
        """Give the invitation a fresh token; return it (it can be rebuilt from the nonce and the key)."""
        self.token_nonce = secrets.token_urlsafe(24)
        token = self.token(secret_key)
        self.token_hash = hash_survey_token(token)
        return token

    def token(self, secret_key: str) -> str:
        digest = hmac.new(secret_key.encode(), f"survey-invitation:{self.token_nonce}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:24]).decode().rstrip("=")


class OptOut(Base):
    """A customer who asked not to be surveyed again, known only by their respondent reference.

    The reference is a keyed hash of the address (core.ingestion.respondent_ref): the list names nobody, and
    outlives the customer's erasure, which is what keeps them from being asked again.
    """

    __tablename__ = "pts_opt_outs"

    respondent_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: customer (the link in an invitation) | hr (asked by phone or letter, recorded from the command line)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
