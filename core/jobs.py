"""Background jobs: one way to ask for follow-up work, whether RQ is configured or not.

:func:`enqueue` writes a :class:`PendingJob` row in the caller's transaction (a transactional outbox). When
that transaction commits, the row is handed to RQ, or, without ``PLAUDIT_REDIS_URL``, the job runs inline
in this process. If Redis cannot be reached the row simply stays, and :func:`dispatch_pending` hands it
over later (at worker start, every minute from ``plaudit cron``, after the next successful commit), so
accepted work is never dropped. Jobs must therefore be idempotent: a crash between handing a job over and
deleting its row runs it twice.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from .models import PendingJob, utcnow

log = logging.getLogger(__name__)

#: Retries for jobs handed to RQ; every job is idempotent, so a retry is always safe.
RETRY_INTERVALS = [10, 60, 300]
#: Rows older than this are swept up by the next dispatch (their own dispatch must have failed).
STRANDED_AFTER = timedelta(seconds=30)
#: Inline, a failing job is retried by later dispatches this many times; `plaudit jobs dispatch` always runs it.
INLINE_ATTEMPTS = 5
#: How many stranded rows one dispatch after a commit takes along, so a request is never held up long.
SWEEP_LIMIT = 50

_worker_app = None


@dataclass(frozen=True)
class CronEntry:
    """A job ``plaudit cron`` schedules: an importable function, every ``interval`` s or on ``cron``."""

    func: str
    interval: int | None = None
    cron: str | None = None
    args: tuple = ()


def _dotted(func: Callable | str) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def enqueue(session: Session, func: Callable | str, *args: Any, job_id: str | None = None) -> PendingJob:
    """Ask for ``func(*args)`` to run once ``session`` commits. Arguments must be JSON values (ids).

    Nothing runs if the transaction rolls back.
    """
    pending = PendingJob(func=_dotted(func), args=list(args), job_id=job_id)
    session.add(pending)
    session.info.setdefault("plaudit_pending_jobs", []).append(pending)
    if has_app_context():
        session.info["plaudit_app"] = current_app._get_current_object()
    return pending


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    pending = session.info.pop("plaudit_pending_jobs", None)
    app = session.info.pop("plaudit_app", None)
    if not pending or app is None:
        return
    ids = [p.id for p in pending if p.id is not None]
    try:
        with app.app_context():
            dispatch_pending(ids=ids)
    except Exception:  # the caller's commit succeeded; the rows wait for the next dispatch
        log.exception("dispatching %d job(s) after commit failed; they stay pending", len(ids))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("plaudit_pending_jobs", None)


def redis_connection(app=None):
    """Return a Redis client for the configured URL, or None when jobs run inline."""
    from redis import Redis

    url = (app or current_app).config["REDIS_URL"]
    if not url:
        return None
    # Short timeouts: a dead Redis must not hold up an HTTP request that only wants to hand work over.
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def get_queue(app=None):
    from rq import Queue

    app = app or current_app
    connection = redis_connection(app)
    return Queue(app.config["QUEUE_NAME"], connection=connection) if connection is not None else None


def dispatch_pending(ids: list[int] | None = None, limit: int = 500) -> int:
    """Hand pending jobs to RQ, or run them inline; return how many left the outbox.

    :param ids: these rows; None sweeps every pending row, oldest first.
    """
    from .db import get_db

    database = get_db()
    queue = get_queue()
    query = select(PendingJob).order_by(PendingJob.id)
    if ids is None:
        query = query.limit(limit)
    else:
        # Take along rows stranded by an earlier outage or failure, now that this dispatch can run.
        stranded = PendingJob.created_at < utcnow() - STRANDED_AFTER
        if queue is None:
            stranded &= PendingJob.attempts < INLINE_ATTEMPTS
        query = query.where(PendingJob.id.in_(ids) | stranded).limit(len(ids) + SWEEP_LIMIT)
    if queue is None:
        return _run_inline(database, query)
    from redis.exceptions import RedisError
    from rq import Retry

    done = 0
    with database.sessionmaker() as session, session.begin():
        for row in session.scalars(query.with_for_update(skip_locked=True)):
            try:
                queue.enqueue_call(func=row.func, args=tuple(row.args), job_id=row.job_id or f"outbox-{row.id}",
                                   retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))
            except RedisError as exc:
                row.attempts += 1
                row.last_error = f"queue unreachable: {type(exc).__name__}"
                log.warning("Redis unreachable; %s stays pending (%s)", row.func, type(exc).__name__)
                break
            session.delete(row)
            done += 1
    return done


def _run_inline(database, query) -> int:
    with database.sessionmaker() as session:
        rows = [(row.id, row.func, row.args) for row in session.scalars(query)]
    done = 0
    for row_id, func, args in rows:
        try:
            import_string(func)(*args)
        except Exception as exc:
            log.exception("inline job %s failed; it stays pending", func)
            with database.sessionmaker() as session, session.begin():
                row = session.get(PendingJob, row_id)
                if row is not None:
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            continue
        with database.sessionmaker() as session, session.begin():
            row = session.get(PendingJob, row_id)
            if row is not None:
                session.delete(row)
        done += 1
    return done


@contextmanager
def job_app() -> Iterator[Any]:
    """Yield the app a job runs under: the current one inline, else the worker's (created on first use)."""
    global _worker_app
    if has_app_context():
        yield current_app._get_current_object()
        return
    if _worker_app is None:
        from .app import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        yield _worker_app


def dispatch_pending_job() -> int:
    """Job form of :func:`dispatch_pending`, which ``plaudit cron`` runs every minute."""
    with job_app():
        return dispatch_pending()


def run_worker(app, burst: bool = False, worker_class=None) -> bool:
    """Drain the outbox, then work the queue with jobs bound to ``app`` (until empty when ``burst``)."""
    from rq import Worker

    global _worker_app
    connection = redis_connection(app)
    if connection is None:
        raise RuntimeError("PLAUDIT_REDIS_URL is not set: without Redis, jobs run inline and need no worker")
    _worker_app = app
    with app.app_context():
        dispatch_pending()
    worker = (worker_class or Worker)([app.config["QUEUE_NAME"]], connection=connection)
    # The scheduler moves retried jobs back onto the queue when their interval is up.
    return worker.work(burst=burst, with_scheduler=not burst)


def cron_entries(app) -> list[CronEntry]:
    """The kernel's cron entries plus every plugin's."""
    from .plugins import get_plugins

    return [CronEntry("core.jobs.dispatch_pending_job", interval=60),
            CronEntry("core.ingestion.announce_overdue_feedback", interval=300),
            *get_plugins(app).cron_jobs()]


def build_cron_scheduler(app):
    """Return RQ's cron scheduler with every registered entry, ready to ``start()``."""
    from rq.cron import CronScheduler

    connection = redis_connection(app)
    if connection is None:
        raise RuntimeError("PLAUDIT_REDIS_URL is not set: `plaudit cron` schedules jobs on Redis")
    scheduler = CronScheduler(connection=connection)
    for entry in cron_entries(app):
        scheduler.register(import_string(entry.func), app.config["QUEUE_NAME"], args=entry.args,
                           interval=entry.interval, cron=entry.cron)
    return scheduler
