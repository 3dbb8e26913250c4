"""``plaudit worker``, ``plaudit cron`` and ``plaudit jobs``: background work on RQ."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from rq.exceptions import StopRequested
from sqlalchemy import func, select, update

from .. import jobs as job_queue
from ..cron import CronLease, lease_key
from ..db import get_db, transaction
from ..migrate import schema_behind
from ..models import PendingJob, utcnow

log = logging.getLogger(__name__)

CRON_RETRY_SECONDS = 5


@click.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker(burst):
    """Run an RQ worker on the Plaudit queue (start as many as you need)."""
    app = current_app._get_current_object()
    _warn_if_schema_behind()
    try:
        while True:
            try:
                job_queue.run_worker(app, burst=burst)
                return
            except RuntimeError as exc:
                raise click.UsageError(str(exc)) from None
            except RedisError as exc:  # at start: once working, RQ rides out a lost connection itself
                if burst:
                    raise click.ClickException(f"Redis unreachable ({type(exc).__name__}): is it running, and "
                                               f"PLAUDIT_REDIS_URL right?") from None
                # Under a supervisor, exiting would only restart-loop: wait for Redis, as the scheduler does.
                click.echo(f"Redis unreachable ({type(exc).__name__}; see PLAUDIT_REDIS_URL); retrying in "
                           f"{CRON_RETRY_SECONDS}s", err=True)
                time.sleep(CRON_RETRY_SECONDS)
    except KeyboardInterrupt:
        click.echo("worker stopped", err=True)


@click.command()
@with_appcontext
def cron():
    """Run RQ's cron scheduler for every scheduled job; times are the organisation's (PLAUDIT_TIME_ZONE).

    One schedules at a time: a second one stands by and takes over when the first stops (see core.cron).
    """
    job_queue.keep_cron_on_org_clock(current_app.config["TIME_ZONE"])
    _warn_if_schema_behind()
    for entry in job_queue.cron_entries(current_app):
        click.echo(f"scheduling {entry.func} " + (f"every {entry.interval}s" if entry.interval else entry.cron))
    app = current_app._get_current_object()
    try:
        while True:
            try:
                job_queue.build_cron_scheduler(app).start()
                return
            except RuntimeError as exc:
                raise click.UsageError(str(exc)) from None
            except RedisError as exc:  # keep scheduling once Redis is back, as the workers do
                click.echo(f"Redis unreachable ({type(exc).__name__}); retrying in {CRON_RETRY_SECONDS}s",
                           err=True)
                time.sleep(CRON_RETRY_SECONDS)
    except (KeyboardInterrupt, StopRequested):  # RQ's signal handlers raise StopRequested on SIGTERM
        click.echo("cron stopped", err=True)


def _warn_if_schema_behind() -> None:
    # Workers and the scheduler had started without a word against a database nobody migrated (only the web's
    # /healthz said so): their jobs then fail one by one on missing columns.
    said = schema_behind(get_db())
    if said:
        log.warning("%s; jobs that need the new schema fail until then", said)


@click.group()
def jobs():
    """Inspect and hand over pending jobs."""


#: Due jobs older than this that no sweep handed over say the scheduler's sweep is not running.
STUCK_AFTER = timedelta(minutes=5)


@jobs.command()
@click.option("--check", is_flag=True,
              help="For monitoring: exit with status 1, naming each, when Redis does not answer, no worker is "
                   "running, no `plaudit cron` schedules, or due jobs wait undispatched.")
@with_appcontext
def status(check):
    """Show the outbox (jobs not yet succeeded: due, queued or backing off), the queue, its workers and cron."""
    from rq import Worker

    problems = []
    with transaction() as session:
        count, oldest = session.execute(select(func.count(), func.min(PendingJob.created_at))).one()
    click.echo(f"pending in the database: {count}" + (f" (oldest {oldest:%Y-%m-%d %H:%M:%S} UTC)" if count else ""))
    queue = job_queue.get_queue()
    if queue is None:
        click.echo("queue: inline (PLAUDIT_REDIS_URL is not set)")
    else:
        try:
            click.echo(f"queue {queue.name}: {queue.count} waiting")
            workers = Worker.all(queue=queue)
            click.echo(f"workers: {len(workers)} ({', '.join(sorted(w.name for w in workers))})" if workers
                       else "workers: none is running: queued jobs wait")
            if not workers:
                problems.append("no worker is running")
            held = CronLease(queue.connection, "", lease_key(queue.name)).current_holder()
            click.echo(f"cron: scheduling in {held[0]} (its lease lapses in {held[1]:.0f} s unless renewed)" if held
                       else "cron: no `plaudit cron` holds the lease: scheduled jobs are not being enqueued")
            if not held:
                problems.append("no `plaudit cron` schedules")
        except RedisError as exc:
            click.echo(f"queue {queue.name}: unreachable ({type(exc).__name__}); pending jobs wait in the database")
            problems.append("Redis does not answer")
        with transaction() as session:  # the cron sweep hands due rows over every minute: these were not
            stuck = session.scalar(select(func.count()).where(
                PendingJob.next_attempt_at.is_(None) | (PendingJob.next_attempt_at <= utcnow() - STUCK_AFTER),
                PendingJob.created_at <= utcnow() - STUCK_AFTER))
        if stuck:
            click.echo(f"due for over {STUCK_AFTER.seconds // 60} minutes and not handed to the queue: {stuck}")
            problems.append(f"{stuck} due job(s) wait undispatched")
    if check and problems:
        click.secho(f"not healthy: {'; '.join(problems)}", fg="red", err=True)
        raise SystemExit(1)


@jobs.command()
@click.option("--now", "retry_now", is_flag=True, help="Also retry jobs that are backing off or leased.")
@with_appcontext
def dispatch(retry_now):
    """Dispatch the due jobs now: hand them to the queue, or run them here without Redis."""
    if retry_now:
        with transaction() as session:
            session.execute(update(PendingJob).values(next_attempt_at=None))
    click.echo(f"dispatched {job_queue.dispatch_pending()} job(s)")


@jobs.command("failing")
@with_appcontext
def failing():
    """List the jobs that failed and wait to be tried again, newest first, with their last error."""
    with transaction() as session:
        rows = session.scalars(select(PendingJob).where(PendingJob.failed_at.is_not(None))
                               .order_by(PendingJob.id.desc())).all()
        for row in rows:
            error = (row.last_error or "").strip().splitlines()
            when = f"{row.next_attempt_at:%Y-%m-%d %H:%M} UTC" if row.next_attempt_at else "now"
            click.echo(f"{row.id:>6}  {row.func}{row.args}  {row.attempts} attempt(s), next {when}: "
                       f"{error[-1] if error else ''}")
    if not rows:
        click.echo("no failed job waits to be tried again")


@jobs.command()
@click.argument("job_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts).")
@with_appcontext
def discard(job_id, yes):
    """Give up on failed job JOB_ID: it is deleted from the outbox and never tried again (audited)."""
    if not yes:
        # Read in a session of its own, ended before asking: on SQLite a write transaction held open at the
        # prompt would lock every other writer out until it is answered.
        with get_db().read_sessionmaker() as session:
            row = session.get(PendingJob, job_id)
            shown = row and f"{row.func}{row.args} ({row.attempts} attempt(s))"
        if shown:
            click.confirm(f"Give up on job {job_id}, {shown}? It will never run", abort=True)
    with transaction() as session:
        try:
            row = job_queue.discard_failed(session, job_id)
        except job_queue.NotDiscardable as exc:
            raise click.BadParameter(str(exc), param_hint="JOB_ID") from None
        click.echo(f"job {job_id} ({row.func}) discarded")
