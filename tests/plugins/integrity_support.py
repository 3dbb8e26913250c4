"""What the integrity-check tests share: a Monday to answer on, and readers of what the ingestion flagged.
The fixtures (Ann and Bob with their identities, the loaded checks) are in conftest.py."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from appraisal.metrics import metric
from core.ingestion import ingest
from core.models import Feedback, Flag

MONDAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


def at(hours: float) -> str:
    """A time ``hours`` after MONDAY, as a payload gives it."""
    return (MONDAY + timedelta(hours=hours)).isoformat()


def ingest_surveys(session, *payloads):
    report = ingest(session, "post_ticket_survey", list(payloads))
    session.commit()
    assert not report.rejected, report.rejected
    return {stored.external_id: stored for stored in report.created}


def flags_by_item(session) -> dict[str, list[str]]:
    """External id -> the checks that flagged it."""
    flags: dict[str, list[str]] = {}
    for external_id, check in session.execute(select(Feedback.external_id, Flag.check)
                                              .join(Flag, Flag.feedback_id == Feedback.id).order_by(Flag.id)):
        flags.setdefault(external_id, []).append(check)
    return flags


def status_of(session, external_id: str) -> str:
    return session.scalar(select(Feedback.status).where(Feedback.external_id == external_id))


def reason_of(session, check: str) -> str:
    return session.scalar(select(Flag.reason).where(Flag.check == check))


def counted(app, session, employee_id: int) -> int:
    """How many of the employee's csat answers the CSAT metric counts."""
    session.expire_all()
    rule = app.extensions["plaudit.plugins"].scoring_rules["csat_percent"]
    result = metric(session, rule, {}).get(employee_id)
    session.rollback()  # end the read: on SQLite the session would otherwise hold the write lock
    return result.n if result else 0
