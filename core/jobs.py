"""Background jobs: one way to ask for follow-up work, whether RQ is configured or not.

:func:`enqueue` writes a :class:`PendingJob` row in the caller's transaction (a transactional outbox). When
that transaction commits, the row is dispatched: handed to RQ, or, without ``PLAUDIT_REDIS_URL``, run inline
in this process. The row stays until its job has *succeeded*; :func:`run_pending_job` deletes it then. A job
that fails or a Redis that cannot be reached only pushes ``next_attempt_at`` back, and a later dispatch (after
the next commit, every minute from ``plaudit cron``, at worker start, or ``plaudit jobs dispatch``) tries again
with backoff; such a sweep also hands over again every row whose job Redis lost (restarted without its data).
Accepted work is never dropped; in exchange a job may run more than once, so every job must be idempotent.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import case, delete, event, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from .models import PendingJob, utcnow

log = logging.getLogger(__name__)

#: How long a job handed to RQ may take before the outbox assumes it lost and hands it over again.
QUEUE_LEASE = timedelta(hours=1)
#: How long an inline run holds its row, so two requests never run the same job at once.
INLINE_LEASE = timedelta(minutes=10)
#: Rows younger than this are left to the dispatch of the commit that wrote them.
STRANDED_AFTER = timedelta(seconds=30)
#: How many due rows one dispatch after a commit takes along, so a request is never held up long.
SWEEP_LIMIT = 50
#: How many rows leased to RQ one sweep checks for jobs Redis lost.
LOST_CHECK_LIMIT = 5000
#: After Redis refuses, dispatches leave rows for this long rather than wait on it in every request.
REDIS_PAUSE_SECONDS = 5

_worker_app = None
#: Where the app's own modules (not plugins) list their cron entries.
CRON_KEY = "plaudit.cron_entries"
#: Payload retention runs daily at 03:30, after the night's appraisal work and before the working day.
RETENTION_CRON = "30 3 * * *"


def retry_delay(attempts: int) -> timedelta:
    """Backoff after a failed attempt: 30 s, 1 min, 2 min, ... up to an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@dataclass(frozen=True)
class CronEntry:
    """A job ``plaudit cron`` schedules: an importable function, every ``interval`` s or on ``cron``."""

    func: str
    interval: int | None = None
    cron: str | None = None
    args: tuple = ()


def _dotted(func: Callable | str) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def enqueue(session: Session, func: Callable | str, *args: Any) -> PendingJob:
    """Ask for ``func(*args)`` to run once ``session`` commits. Arguments must be JSON values (ids).

    Nothing runs if the transaction rolls back.
    """
    pending = PendingJob(func=_dotted(func), args=list(args))
    session.add(pending)
    session.info.setdefault("plaudit_pending_jobs", []).append(pending)
    if has_app_context():
        session.info["plaudit_app"] = current_app._get_current_object()
    return pending


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the rows are not committed yet
        return
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
    if not session.in_nested_transaction():  # a savepoint's jobs are simply not found at dispatch
        session.info.pop("plaudit_pending_jobs", None)


def redis_connection(app=None):
    """Return the app's Redis client (one per app, pooled), or None when jobs run inline."""
    from redis import Redis

    app = app or current_app
    url = app.config["REDIS_URL"]
    if not url:
        return None
    if "plaudit.redis" not in app.extensions:
        # Short timeouts: a dead Redis must not hold up a request that only wants to hand work over.
        app.extensions["plaudit.redis"] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return app.extensions["plaudit.redis"]


def get_queue(app=None):
    from rq import Queue

    app = app or current_app
    connection = redis_connection(app)
    return Queue(app.config["QUEUE_NAME"], connection=connection) if connection is not None else None


def dispatch_pending(ids: list[int] | None = None, limit: int = 500) -> int:
    """Dispatch due outbox rows: hand them to RQ, or run them inline; return how many were dispatched.

    :param ids: the rows a commit just wrote; they go first, with up to ``SWEEP_LIMIT`` older due rows.
        None dispatches every due row, oldest first.
    """
    from .db import get_db

    now = utcnow()
    due = or_(PendingJob.next_attempt_at.is_(None), PendingJob.next_attempt_at <= now)
    query = select(PendingJob)
    if ids is None:
        query = query.where(due).order_by(PendingJob.id).limit(limit)
    else:
        mine = PendingJob.id.in_(ids)
        query = (query.where(mine | (due & (PendingJob.created_at < now - STRANDED_AFTER)))
                 .order_by(case((mine, 0), else_=1), PendingJob.id).limit(len(ids) + SWEEP_LIMIT))
    app = current_app._get_current_object()
    if get_queue(app) is None:
        return _run_inline(get_db(), query.with_for_update(skip_locked=True))
    if app.extensions.get("plaudit.redis_paused_until", 0) > time.monotonic():
        return 0
    if ids is None:
        lost = _lost_from_queue(app, get_db())
        if lost:  # (unless the job noted its failure meanwhile: it waits out its backoff then)
            query = (select(PendingJob).where(due | (PendingJob.id.in_(lost) & PendingJob.failed_at.is_(None)))
                     .order_by(PendingJob.id).limit(limit))
    return _hand_to_queue(app, get_db(), query.with_for_update(skip_locked=True))


#: RQ's states of a job that ended without succeeding.
_ENDED_UNSUCCESSFULLY = {b"failed", b"stopped", b"canceled"}


def _lost_from_queue(app, database) -> list[int]:
    """Rows handed to RQ whose job will not run again by itself before its ``QUEUE_LEASE`` ends: to hand over now.

    Two ways: Redis no longer holds the job (a Redis that restarted without its data lost it); or the job ended
    in failure on a database outage, which it could not note on its row (it could neither read it nor write).
    A job that ended in failure otherwise without noting it (its process killed: out of memory, say) is noted
    here as failed, with its backoff, as if it had noted it: handed over at once, it would be tried every
    minute for ever, and nobody could discard it.
    """
    from redis.exceptions import RedisError
    from rq.job import Job

    with database.read_sessionmaker() as session:
        leased = session.execute(
            select(PendingJob.id, PendingJob.attempts)
            .where(PendingJob.attempts > 0, PendingJob.next_attempt_at > utcnow(), PendingJob.failed_at.is_(None))
            .order_by(PendingJob.id).limit(LOST_CHECK_LIMIT)).all()
    if not leased:
        return []
    connection = redis_connection(app)
    try:
        with connection.pipeline(transaction=False) as pipe:
            for row_id, attempts in leased:
                pipe.hget(Job.key_for(_job_id(row_id, attempts)), "status")
            states = pipe.execute()
        ended = [(row_id, attempts) for (row_id, attempts), state in zip(leased, states)
                 if state in _ENDED_UNSUCCESSFULLY]
        errors = {row_id: last_error(job) for (row_id, _), job in zip(ended, Job.fetch_many(
            [_job_id(row_id, attempts) for row_id, attempts in ended], connection=connection))}
    except RedisError:  # _hand_to_queue will meet the same Redis, note it and pause
        return []
    died = {row_id: error for row_id, error in errors.items() if "OperationalError" not in error}
    if died:
        _note_died(database, died)
    return [row_id for (row_id, _attempts), state in zip(leased, states)
            if state is None or (row_id in errors and row_id not in died)]


def last_error(job) -> str:
    """The last line of a failed RQ job's traceback ("" when RQ kept none): what went wrong."""
    result = job.latest_result() if job is not None else None
    # SQLAlchemy ends its errors with a link to its docs: the line before it says what went wrong.
    lines = [line for line in ((result and result.exc_string) or "").splitlines()
             if line.strip() and not line.startswith("(Background on this error at:")]
    return lines[-1] if lines else ""


def _note_died(database, died: Mapping[int, str]) -> None:
    """Note as failed, with their backoff, the rows whose job ended in failure without noting it."""
    now = utcnow()
    with database.sessionmaker() as session, session.begin():
        for row in session.scalars(select(PendingJob).where(PendingJob.id.in_(sorted(died)),
                                                            PendingJob.failed_at.is_(None)).with_for_update()):
            row.last_error = (died[row.id] or "the job's process ended without a word (killed: out of memory?)")[:2000]
            row.failed_at, row.next_attempt_at = now, now + retry_delay(row.attempts)
            log.warning("job %s (%s) ended in failure without noting it: retried after its backoff", row.id,
                        row.func)


def _job_id(row_id: int, attempts: int) -> str:
    return f"outbox-{row_id}-{attempts}"


def _hand_to_queue(app, database, query) -> int:
    from redis.exceptions import RedisError

    queue = get_queue(app)
    done = 0
    with database.sessionmaker() as session, session.begin():
        for row in session.scalars(query):
            try:
                queue.enqueue_call(func=run_pending_job, args=(row.id,), job_id=_job_id(row.id, row.attempts + 1),
                                   description=f"{row.func}{tuple(row.args)!r}"[:200])
            except RedisError as exc:
                # Not an attempt: the job never ran, and counting it would lengthen its next real backoff.
                row.last_error = f"queue unreachable: {type(exc).__name__}"
                app.extensions["plaudit.redis_paused_until"] = time.monotonic() + REDIS_PAUSE_SECONDS
                log.warning("Redis unreachable; %s stays pending (%s)", row.func, type(exc).__name__)
                break
            row.attempts += 1
            row.next_attempt_at, row.failed_at = utcnow() + QUEUE_LEASE, None
            done += 1
    return done


def _run_inline(database, query) -> int:
    with database.sessionmaker() as session, session.begin():
        claimed = []
        for row in session.scalars(query):
            row.attempts += 1
            row.next_attempt_at, row.failed_at = utcnow() + INLINE_LEASE, None
            claimed.append(row.id)
    for row_id in claimed:  # outside the claim: a job opens transactions of its own
        try:
            run_pending_job(row_id)
        except Exception:  # recorded on the row by run_pending_job; the caller's work goes on
            log.exception("inline job %s failed; it will be retried", row_id)
    return len(claimed)


def run_pending_job(pending_id: int) -> Any:
    """Job: run one outbox row's function, then delete the row. A failure is recorded and re-raised."""
    from .db import get_db

    with job_app():
        database = get_db()
        with database.sessionmaker() as session:
            row = session.get(PendingJob, pending_id)
            if row is None:  # done already, by an earlier copy of this job
                return None
            func, args, attempts = row.func, row.args, row.attempts
        try:
            result = import_string(func)(*args)
        except Exception as exc:
            with database.sessionmaker() as session, session.begin():
                row = session.get(PendingJob, pending_id)
                if row is not None:
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    row.failed_at = utcnow()
                    row.next_attempt_at = row.failed_at + retry_delay(attempts)
            raise
        with database.sessionmaker() as session, session.begin():
            session.execute(delete(PendingJob).where(PendingJob.id == pending_id))
        return result


class NotDiscardable(ValueError):
    """A job that may not be given up on: unknown, or not failed (it is due, queued or running)."""


def discard_failed(session: Session, job_id: int, actor=None) -> PendingJob:
    """Give up on a job that failed: delete it from the outbox, keeping what it was in the audit trail.

    Only one that failed and waits out its backoff: a job that can never succeed (an invitation whose link
    cannot be rebuilt) is otherwise retried every hour for ever, while one that is due, queued or running (a
    retry included) is still on its way.
    :raises NotDiscardable: saying why.
    """
    from .models import record_audit

    row = session.get(PendingJob, job_id, with_for_update=True)
    if row is None:
        raise NotDiscardable(f"there is no pending job {job_id} (it may have succeeded meanwhile)")
    if row.failed_at is None:
        raise NotDiscardable(f"job {job_id} ({row.func}) is not waiting after a failure: it is due, queued or "
                             f"running")
    record_audit(session, "job.discarded", row, actor=actor,
                 before={"func": row.func, "args": row.args, "attempts": row.attempts, "last_error": row.last_error})
    session.delete(row)
    return row


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

    from .db import database_unreachable

    global _worker_app
    connection = redis_connection(app)
    if connection is None:
        raise RuntimeError("PLAUDIT_REDIS_URL is not set: without Redis, jobs run inline and need no worker")
    _worker_app = app
    with app.app_context():
        try:
            dispatch_pending()
        except OperationalError as exc:
            if not database_unreachable(exc):
                raise
            # Waited out, as Redis is: exiting took the whole Procfile stack down with it, and systemd into a
            # restart loop. Jobs that meet the outage fail in RQ, and the cron sweep hands them over again.
            log.warning("the database is unreachable (%s): the worker starts, and the outbox is drained by the "
                        "next sweep once it answers", type(exc.orig).__name__)
    worker = (worker_class or Worker)([app.config["QUEUE_NAME"]], connection=connection)
    return worker.work(burst=burst)


def cron_entries(app) -> list[CronEntry]:
    """The kernel's cron entries plus every plugin's."""
    from .plugins import get_plugins

    return [CronEntry("core.jobs.dispatch_pending_job", interval=60),
            CronEntry("core.retention.purge_expired_payloads_job", cron=RETENTION_CRON),
            *app.extensions.get(CRON_KEY, ()), *get_plugins(app).cron_jobs()]


def keep_cron_on_org_clock(zone: str) -> None:
    """Make this process's local time the organisation's (``PLAUDIT_TIME_ZONE``), so that RQ's cron reads
    ``0 2 * * 1`` as 02:00 on Monday where the organisation's weeks end, as documented.

    RQ 3 matches cron fields against the process's local time: on a server set to Tokyo the weekly appraisal
    of a UTC organisation was due at 17:00 UTC on Sunday, before its week had ended, so it found last week's
    run and did nothing. The cron process takes the clock the organisation's periods are cut by, not the server's.
    """
    os.environ["TZ"] = zone
    if hasattr(time, "tzset"):  # not on Windows, where Plaudit's cron does not run
        time.tzset()
        # The C library reads the system's zone files, not Python's tzdata: without one it keeps UTC silently.
        # Winter and summer both: London is UTC in January, so January alone would not tell.
        seasons = [datetime(datetime.now().year, month, 15, 12, tzinfo=ZoneInfo(zone)) for month in (1, 7)]
        if any(time.localtime(moment.timestamp()).tm_gmtoff != moment.utcoffset().total_seconds()
               for moment in seasons):
            log.warning("this system has no time zone file for %s (PLAUDIT_TIME_ZONE): cron reads its schedules "
                        "in UTC; install the system's time zone data (Debian: tzdata)", zone)


def build_cron_scheduler(app):
    """Return the cron scheduler with every registered entry, ready to ``start()`` (see :mod:`core.cron`)."""
    from .cron import LeasedCronScheduler

    connection = redis_connection(app)
    if connection is None:
        raise RuntimeError("PLAUDIT_REDIS_URL is not set: `plaudit cron` schedules jobs on Redis")
    scheduler = LeasedCronScheduler(connection, app.config["QUEUE_NAME"])
    for entry in cron_entries(app):
        scheduler.register(import_string(entry.func), app.config["QUEUE_NAME"], args=entry.args,
                           interval=entry.interval, cron=entry.cron)
    return scheduler
