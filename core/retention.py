"""Raw payloads kept no longer than the retention window: past it, only what the numbers are computed from.

A feedback item's ``payload`` is what its channel was sent, and holds what a customer wrote and who they
are (a post's text and author, a survey's comment and browser). Past ``PLAUDIT_PAYLOAD_RETENTION_DAYS``
(by the item's ``occurred_at``) the payload is cut down to :data:`KEPT_PAYLOAD_KEYS`: the keys scoring
rules, threading and disputes read. Values, kinds, times, employee and team are columns and never change,
so an appraisal re-run after a purge gives the same numbers.

Stripping is one SQL expression, run in batches of ids: two statements a batch, whatever the table holds.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, literal_column, select, text, update
from sqlalchemy.orm import Session

from .db import get_db
from .models import AuditEntry, Feedback, utcnow

log = logging.getLogger(__name__)

#: Payload keys that say nothing about a customer and that something still reads after ingestion.
KEPT_PAYLOAD_KEYS = frozenset({
    # post_ticket_survey answers and helpdesk ratings: which answer, on what scale, for which agent/ticket
    "response_id", "kind", "rating", "scale", "answered_at", "ticket_id", "agent", "agent_basis", "agents",
    # ticket timings (ticket_metrics): which ticket, which timing, when, whose
    "ticket", "metric", "at", "minutes",
    # ... and of one that went overdue while open: the solve keeps its date (post_ticket_survey/overdue.py)
    "overdue", "open",
    # mystery shoppers: the report (disputes find it) and the section (mystery_section scores it)
    "report_id", "template", "template_version", "section", "title",
    # social posts: threading pairs a reply with its post by source and in_reply_to; the sentiment label
    "source", "external_id", "posted_at", "in_reply_to", "brand_reply", "ticket_ref", "ticket_provider",
    "sentiment", "score",
})

#: Items stripped per transaction: small enough to keep locks short, large enough to be quick.
BATCH_SIZE = 1000


def _key_list() -> str:
    # Constants of our own, never input: safe to inline, and the same text on both backends.
    return ", ".join(f"'{key}'" for key in sorted(KEPT_PAYLOAD_KEYS))


def kept_payload(dialect: str):
    """The SQL expression of ``feedback.payload`` cut down to :data:`KEPT_PAYLOAD_KEYS`."""
    if dialect == "postgresql":
        return literal_column(
            "(SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(feedback.payload) "
            f"WHERE key IN ({_key_list()}))")
    # SQLite: json_each's value turns true into 1; the -> operator keeps the JSON value as it was.
    return literal_column(
        "(SELECT coalesce(json_group_object(key, feedback.payload -> ('$.\"' || key || '\"')), '{}') "
        f"FROM json_each(feedback.payload) WHERE key IN ({_key_list()}))")


def holds_personal_keys(dialect: str):
    """A condition true for items whose payload still has a key beyond :data:`KEPT_PAYLOAD_KEYS`."""
    each = "jsonb_each(feedback.payload)" if dialect == "postgresql" else "json_each(feedback.payload)"
    return text(f"EXISTS (SELECT 1 FROM {each} WHERE key NOT IN ({_key_list()}))")


def strip_payloads(session: Session, feedback_ids: Sequence[int]) -> None:
    """Cut the payloads of these items down to the kept keys, in one statement (the caller commits)."""
    if not feedback_ids:
        return
    dialect = session.get_bind().dialect.name
    session.execute(update(Feedback).where(Feedback.id.in_(sorted(feedback_ids)))
                    .values(payload=kept_payload(dialect)).execution_options(synchronize_session="fetch"))


def _due(dialect: str, older_than: datetime):
    return (Feedback.occurred_at < older_than, holds_personal_keys(dialect))


def count_expired_payloads(session: Session, older_than: datetime) -> int:
    """How many items occurred before ``older_than`` and still hold more than the kept keys."""
    dialect = session.get_bind().dialect.name
    return session.scalar(select(func.count()).select_from(Feedback).where(*_due(dialect, older_than)))


def purge_expired_payloads(older_than: datetime, *, batch_size: int = BATCH_SIZE,
                           progress: Callable[[int], None] | None = None, actor=None) -> int:
    """Strip the payloads of items that occurred before ``older_than``; return how many were stripped.

    Each batch is its own transaction (a stop half-way keeps what was done, and a re-run carries on), and
    takes two statements: the next ids, then one UPDATE. Items already stripped are not touched again.

    :param progress: called with the number of items of each batch done.
    """
    database = get_db()
    stripped, after = 0, 0
    while True:
        with database.sessionmaker() as session, session.begin():
            dialect = session.get_bind().dialect.name
            ids = list(session.scalars(select(Feedback.id).where(*_due(dialect, older_than), Feedback.id > after)
                                       .order_by(Feedback.id).limit(batch_size)))
            if not ids:
                break
            strip_payloads(session, ids)
        stripped, after = stripped + len(ids), ids[-1]
        if progress is not None:
            progress(len(ids))
    if stripped:
        with database.sessionmaker() as session, session.begin():
            session.add(AuditEntry(action="privacy.payloads_purged", entity_type=Feedback.__tablename__,
                                   actor_id=getattr(actor, "id", actor),
                                   after={"items": stripped, "occurred_before": older_than.isoformat()}))
    log.info("payload retention: stripped %d item(s) that occurred before %s", stripped, older_than.isoformat())
    return stripped


def retention_cutoff(days: int | None, now: datetime | None = None) -> datetime | None:
    """The time before which payloads are stripped under a window of ``days``; None keeps them all."""
    return None if days is None else (now or utcnow()) - timedelta(days=days)


def purge_expired_payloads_job() -> int:
    """Daily cron job: strip payloads past ``PLAUDIT_PAYLOAD_RETENTION_DAYS`` (none when it is null)."""
    from .jobs import job_app

    with job_app() as app:
        cutoff = retention_cutoff(app.config["PAYLOAD_RETENTION_DAYS"])
        return 0 if cutoff is None else purge_expired_payloads(cutoff)
