"""Customers who asked not to be surveyed again: recorded from the link in an invitation (a page, or the mail
client's one-click unsubscribe) or by HR, and honoured when inviting and again when sending.

A customer is known here only by their respondent reference, the keyed hash of their address, so the list
names nobody and is kept through an erasure: that is what keeps an erased customer from being asked again.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.ingestion import respondent_ref
from core.models import utcnow

from .models import Invitation, OptOut


def opted_out(session: Session, refs: Iterable[str | None]) -> set[str]:
    """Those of ``refs`` that asked not to be surveyed. One query."""
    wanted = {ref for ref in refs if ref}
    if not wanted:
        return set()
    return set(session.scalars(select(OptOut.respondent_ref).where(OptOut.respondent_ref.in_(wanted))))


def opt_out(session: Session, ref: str, source: str) -> bool:
    """Record that ``ref`` is not to be surveyed, and close their invitations not answered yet.

    :return: False when they had opted out already (nothing changes).
    """
    # ON CONFLICT, not a look first: a double click, or a mail client's one-click POST racing the page's
    # button, sent two at once, and the second failed on the key with a 500.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    added = session.execute(insert(OptOut).values(respondent_ref=ref, source=source, created_at=utcnow())
                            .on_conflict_do_nothing(index_elements=["respondent_ref"])
                            .returning(OptOut.respondent_ref)).scalar_one_or_none()
    if added is None:  # (RETURNING, since SQLite's rowcount does not tell an ignored row)
        return False
    # Links already sent stop working too: the customer asked for no more surveys, not only for no more e-mail.
    now = utcnow()
    session.execute(update(Invitation).where(Invitation.respondent_ref == ref, Invitation.answered_at.is_(None),
                                             Invitation.expires_at > now)
                    .values(expires_at=now).execution_options(synchronize_session=False))
    return True


def opt_in(session: Session, ref: str) -> bool:
    """Let ``ref`` be surveyed again (an opt-out undone); False when they had not opted out."""
    return bool(session.execute(delete(OptOut).where(OptOut.respondent_ref == ref)).rowcount)


def ref_of(address: str) -> str | None:
    """The respondent reference an e-mail address is stored under."""
    return respondent_ref(address, current_app.config["RESPONDENT_SALT"])
