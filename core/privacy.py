"""Erasing a customer's personal data on request, keeping the numbers every appraisal is computed from.

The kernel never stores a customer's identifier, only ``respondent_ref``, its salted hash
(:func:`core.ingestion.respondent_ref`). So a request names the customer as a channel knew them (an e-mail
address, a social handle, a helpdesk requester as ``zendesk:4711``), and the same hash finds their items.

Erasing an item replaces its comment with :data:`ERASED`, clears its respondent_ref and cuts its payload
down to the keys aggregation reads (:mod:`core.retention`). Its value, kind, times, employee, team, ticket
and status stay, so every metric and every re-run of an appraisal is the same before and after. Survey
invitations lose the address they were sent to, and the tickets of the erased items lose their subject. The
audit entries of a changed answer keep that it changed, and lose what it said.

What people wrote about the customer in their own words (a dispute's reason, a decision's note) is theirs, not
the customer's, and is not rewritten: the erasure lists where it names the customer, for someone to review.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from .ingestion import respondent_ref
from .models import AuditEntry, Dispute, Feedback, Flag, Ticket, utcnow
from .retention import strip_payloads

log = logging.getLogger(__name__)

#: The social channel, whose brand replies address the customer by handle.
SOCIAL = "social_monitoring"
#: What an erased comment reads: it was there (a comment rate stays right), what it said is gone.
ERASED = "[erased]"


@dataclass
class ErasureReport:
    """What an erasure changed, or with ``dry_run`` would change; never the identifiers themselves."""

    request_ref: str
    dry_run: bool
    #: feedback items by "channel kind"
    items: Counter = field(default_factory=Counter)
    comments: int = 0
    #: brand replies answering the customer's posts: their text loses the customer's handle
    replies: int = 0
    invitations: int = 0
    tickets: int = 0
    #: audit entries of changed answers whose comments were erased
    audit_entries: int = 0
    #: texts people wrote that name the customer, left for a person to review: "dispute 12 reason", ...
    mentions: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.items.values()) + self.replies + self.invitations + self.tickets

    def as_dict(self) -> dict:
        return {"items": sum(self.items.values()), "by_kind": dict(sorted(self.items.items())),
                "comments": self.comments, "replies": self.replies, "invitations": self.invitations,
                "tickets": self.tickets, "audit_entries": self.audit_entries, "mentions": len(self.mentions)}


def identifier_refs(identifiers: Iterable[str], salt: str) -> list[str]:
    """The respondent_refs a customer may be stored under, for each identifier as given.

    A handle is stored as its source wrote it: feeds write ``@jane``, exports ``jane``; both are looked up.

    :raises ValueError: if an identifier is empty.
    """
    refs = set()
    for raw in identifiers:
        name = str(raw).strip()
        if not name:
            raise ValueError("an identifier is empty: give the customer's e-mail, handle or requester id")
        bare = name.lstrip("@")
        refs.update(respondent_ref(variant, salt) for variant in (name, bare, f"@{bare}"))
    return sorted(refs)


def erase_customer(session: Session, identifiers: Iterable[str], *, actor=None, note: str | None = None,
                   dry_run: bool = False) -> ErasureReport:
    """Erase what is stored about the customer known by ``identifiers``; the caller commits.

    Idempotent: an erased item no longer carries the customer's hash, so a repeat finds nothing. A dry run
    reads the same rows and writes nothing. A real run is audited with the hash of the request, never the
    identifiers.

    :raises ValueError: if an identifier is empty.
    """
    # Imported here: the survey channel's invitations are the one channel table that holds addresses.
    from channels.post_ticket_survey.models import Invitation

    identifiers = [str(i).strip() for i in identifiers]
    refs = identifier_refs(identifiers, current_app.config["RESPONDENT_SALT"])
    request_ref = hashlib.sha256("\n".join(refs).encode()).hexdigest()
    report = ErasureReport(request_ref=request_ref, dry_run=dry_run)

    items = session.execute(select(Feedback.id, Feedback.channel, Feedback.kind, Feedback.ticket_id,
                                   Feedback.external_id, Feedback.comment.is_not(None).label("commented"))
                            .where(Feedback.respondent_ref.in_(refs))).all()
    replies = _replies_to(session, [row.external_id for row in items if row.channel == SOCIAL])
    addresses = sorted({i.lower() for i in identifiers})
    invitations = session.execute(select(Invitation.id, Invitation.ticket_id).where(or_(
        Invitation.respondent_ref.in_(refs), func.lower(Invitation.recipient_email).in_(addresses)))).all()
    ticket_ids = sorted({row.ticket_id for row in [*items, *invitations] if row.ticket_id is not None})
    tickets = list(session.scalars(select(Ticket.id).where(Ticket.id.in_(ticket_ids),
                                                           Ticket.subject.is_not(None)))) if ticket_ids else []

    revisions = _revisions_of(session, [row.id for row in items])
    report.items.update(f"{row.channel} {row.kind}" for row in items)
    report.comments = sum(1 for row in items if row.commented)
    report.replies, report.invitations, report.tickets = len(replies), len(invitations), len(tickets)
    report.audit_entries, report.mentions = len(revisions), _mentions(session, identifiers)
    if dry_run:
        return report

    item_ids = [row.id for row in items]
    # "fetch": items the caller's session already holds show the erasure, not what it replaced.
    if item_ids:
        session.execute(update(Feedback).where(Feedback.id.in_(item_ids)).values(
            respondent_ref=None, comment=case((Feedback.comment.is_(None), None), else_=ERASED))
            .execution_options(synchronize_session="fetch"))
        strip_payloads(session, item_ids)
    if replies:
        # A brand's reply is the agent's work and keeps its words, less the customer it was addressed to.
        named = _naming(identifiers)
        changed = [{"id": row.id, "comment": named.sub(ERASED, row.comment)} for row in replies
                   if row.comment and named.search(row.comment)]
        if changed:  # one executemany UPDATE by primary key
            session.execute(update(Feedback), changed)
        strip_payloads(session, [row.id for row in replies])
    if invitations:
        # Their links close too: they would show the (erased) answer to whoever holds the link, and take another.
        now = utcnow()
        session.execute(update(Invitation).where(Invitation.id.in_([row.id for row in invitations]))
                        .values(recipient_email=None, respondent_ref=None, expires_at=now,
                                answer_window_ends_at=case((Invitation.answer_window_ends_at.is_(None), None),
                                                           else_=now))
                        .execution_options(synchronize_session="fetch"))
    if tickets:
        session.execute(update(Ticket).where(Ticket.id.in_(tickets)).values(subject=None)
                        .execution_options(synchronize_session="fetch"))
    for entry in revisions:  # the answer changed, and when and by how much stay; its words go
        entry.before, entry.after = _erased_comment(entry.before), _erased_comment(entry.after)
    session.add(AuditEntry(action="privacy.erased", entity_type="respondent", entity_id=request_ref,
                           actor_id=getattr(actor, "id", actor), after=report.as_dict(), note=note))
    log.info("erased the personal data of request %s: %s", request_ref[:12], report.as_dict())
    return report


def _revisions_of(session: Session, item_ids: list[int]) -> list[AuditEntry]:
    """The audit entries of these items' changed answers that still hold a comment."""
    if not item_ids:
        return []
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == Feedback.__tablename__, AuditEntry.action == "feedback.revised",
        AuditEntry.entity_id.in_([str(i) for i in item_ids])).order_by(AuditEntry.id)).all()
    return [e for e in entries if _erased_comment(e.before) != e.before or _erased_comment(e.after) != e.after]


def _erased_comment(document):
    if isinstance(document, dict) and document.get("comment") not in (None, ERASED):
        return {**document, "comment": ERASED}
    return document


def _mentions(session: Session, identifiers: list[str]) -> list[str]:
    """Where people's own words name the customer: disputes, flag decisions and audit notes, as "dispute 12
    reason". Looked for in the database by each identifier's text, then confirmed as a whole word."""
    named = _naming(identifiers)
    bare = sorted({i.lstrip("@").lower() for i in identifiers})
    # SQLite's lower() folds ASCII letters only: "JOSÉ" is not found by "josé" there, so look for each as
    # given and in capitals too; the pattern below then confirms a whole word in any case.
    spellings = sorted({form for i in identifiers for form in (i.lstrip("@"), i.lstrip("@").upper())})
    found = []
    for model, label, columns in ((Dispute, "dispute", (Dispute.reason, Dispute.outcome)),
                                  (Flag, "flag", (Flag.decision_note,)),
                                  (AuditEntry, "audit entry", (AuditEntry.note,))):
        for column in columns:
            rows = session.execute(select(model.id, column).where(
                or_(*(func.lower(column).contains(name, autoescape=True) for name in bare),
                    *(column.contains(form, autoescape=True) for form in spellings)))
                .order_by(model.id)).all()
            found += [f"{label} {row_id} {column.key}" for row_id, text in rows if text and named.search(text)]
    return found


def _replies_to(session: Session, post_ids: list[str]) -> list:
    """The brand replies answering these stored posts, found as threading pairs them (source:in_reply_to)."""
    if not post_ids:
        return []
    answered = Feedback.payload["source"].as_string() + ":" + Feedback.payload["in_reply_to"].as_string()
    return session.execute(select(Feedback.id, Feedback.comment).where(
        Feedback.channel == SOCIAL, Feedback.kind == "social_reply", answered.in_(sorted(post_ids)))).all()


def _naming(identifiers: list[str]) -> re.Pattern:
    """A pattern matching the customer's identifiers in a text, with or without @, in any case."""
    names = sorted({i.lstrip("@") for i in identifiers}, key=len, reverse=True)
    return re.compile(rf"(?<![\w.@])@?(?:{'|'.join(map(re.escape, names))})(?![\w@])", re.IGNORECASE)
