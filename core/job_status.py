"""What the job outbox and the RQ queue hold, for the admins' jobs page: read-only, never raising when
Redis is away.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, case, func, not_, or_, select

from .jobs import get_queue, last_error
from .models import PendingJob, utcnow

#: How many recent failures the page lists, from the outbox and from RQ's failed registry.
RECENT_FAILURES = 20


@dataclass
class QueueStatus:
    """What RQ says: ``mode`` is inline (no Redis configured), reachable or unreachable."""

    mode: str
    where: str = ""
    problem: str = ""
    queued: int = 0
    started: int = 0
    failed: int = 0
    workers: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)


def redis_address(url: str) -> str:
    """Host, port and database of a Redis URL, without its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or parts.path}:{parts.port or 6379}{parts.path if parts.hostname else ''}"


def queue_status(app) -> QueueStatus:
    """Ask Redis about the queue, its workers and its failed jobs; never raise when Redis is away."""
    from redis.exceptions import RedisError
    from rq import Worker
    from rq.job import Job

    url = app.config["REDIS_URL"]
    if not url:
        return QueueStatus(mode="inline")
    status = QueueStatus(mode="reachable", where=redis_address(url))
    try:
        queue = get_queue(app)
        status.queued, status.started = queue.count, queue.started_job_registry.count
        status.failed = queue.failed_job_registry.count
        status.workers = [{"name": w.name, "state": w.get_state(), "job": w.get_current_job_id(),
                           "heartbeat": w.last_heartbeat} for w in Worker.all(queue=queue)]
        ids = queue.failed_job_registry.get_job_ids(0, RECENT_FAILURES - 1, desc=True)
        for job in filter(None, Job.fetch_many(ids, connection=queue.connection)):
            status.failures.append({"id": job.id, "description": job.description, "ended_at": job.ended_at,
                                    "error": last_error(job)})
    except RedisError as exc:
        return QueueStatus(mode="unreachable", where=status.where, problem=type(exc).__name__)
    return status


def outbox_status(session) -> dict[str, Any]:
    """The outbox by job function and state, its oldest row and its recent failures: three queries."""
    now = utcnow()
    due = or_(PendingJob.next_attempt_at.is_(None), PendingJob.next_attempt_at <= now)
    retrying = and_(not_(due), PendingJob.failed_at.is_not(None))  # waiting out a backoff after failing
    by_func = session.execute(
        select(PendingJob.func, func.count(), func.sum(case((due, 1), else_=0)),
               func.sum(case((retrying, 1), else_=0)), func.min(PendingJob.created_at))
        .group_by(PendingJob.func).order_by(PendingJob.func)).all()
    rows = [{"func": f, "total": n, "waiting": w or 0, "retrying": r or 0, "running": n - (w or 0) - (r or 0),
             "oldest": oldest} for f, n, w, r, oldest in by_func]
    oldest = session.scalar(select(PendingJob).order_by(PendingJob.created_at, PendingJob.id).limit(1))
    failures = session.scalars(select(PendingJob).where(PendingJob.last_error.is_not(None))
                               .order_by(PendingJob.id.desc()).limit(RECENT_FAILURES)).all()
    totals = {key: sum(row[key] for row in rows) for key in ("total", "waiting", "running", "retrying")}
    return {"by_func": rows, "totals": totals, "oldest": oldest, "failures": failures, "now": now}
