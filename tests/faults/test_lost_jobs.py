"""A job Redis lost (restarted without its data) is handed over again by the next sweep, not an hour later."""
from __future__ import annotations

import os
import signal

import pytest
from rq import SimpleWorker, Worker
from rq.job import Job
from sqlalchemy import select

from core import jobs
from core.db import Database, transaction
from core.ingestion import ingest
from core.job_status import queue_status
from core.models import PendingJob
from tests.fixtures.payloads import survey


def _rows(app) -> dict[int, int]:
    with app.app_context(), transaction() as session:
        return dict(session.execute(select(PendingJob.id, PendingJob.attempts).order_by(PendingJob.id)).all())


@pytest.mark.redis
def test_the_sweep_hands_over_again_only_the_jobs_redis_lost(make_app, recorder, redis_url):
    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-lost-sweep", extra_plugins={"recorder": recorder})
    for response_id in ("r-1", "r-2"):
        with app.app_context(), transaction() as session:
            ingest(session, "post_ticket_survey", [survey(response_id)])
    lost, kept = _rows(app)
    assert _rows(app) == {lost: 1, kept: 1}  # both handed to RQ, under their lease
    Job.fetch(f"outbox-{lost}-1", connection=jobs.redis_connection(app)).delete()  # as a restart loses it

    with app.app_context():
        assert jobs.dispatch_pending() == 1
    assert _rows(app) == {lost: 2, kept: 1}  # the one still queued is left to its worker
    with app.app_context():
        assert jobs.dispatch_pending() == 0  # handed over once: its new job is in Redis

    jobs.run_worker(app, burst=True, worker_class=SimpleWorker)
    assert sorted(ext for _id, ext in recorder.ingested) == ["r-1", "r-2"]
    assert _rows(app) == {}


@pytest.mark.redis
def test_a_job_that_could_not_reach_the_database_is_handed_over_at_the_next_sweep(make_app, recorder, redis_url,
                                                                                  tmp_path):
    """A worker that ran a job while the database was down could neither read its row nor note the failure: the
    row kept its hour's lease, RQ held the job as failed, and nothing listed it (`jobs failing` showed none)."""
    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-db-down", extra_plugins={"recorder": recorder})
    with app.app_context(), transaction() as session:
        ingest(session, "post_ticket_survey", [survey("r-1")])
    (row,) = _rows(app)
    cut_off = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-db-down")
    # Its database gone: a real engine on a file no one can open, so every connection fails as an outage's do.
    cut_off.extensions["plaudit.db"] = Database(f"sqlite:///{tmp_path / 'no such folder' / 'plaudit.db'}")
    # A worker starting while the database is down waits for it, as for Redis (it had exited with status 1),
    # and the job it runs meanwhile fails in RQ.
    jobs.run_worker(cut_off, burst=True, worker_class=SimpleWorker)
    assert Job.fetch(f"outbox-{row}-1", connection=jobs.redis_connection(app)).get_status() == "failed"
    assert _rows(app) == {row: 1}  # nothing noted on the row
    (failure,) = queue_status(app).failures  # what /admin/jobs shows: the error, not SQLAlchemy's link
    assert failure["error"].startswith("sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unable to open")

    with app.app_context():
        assert jobs.dispatch_pending() == 1  # not an hour later
    jobs.run_worker(app, burst=True, worker_class=SimpleWorker)
    assert [ext for _id, ext in recorder.ingested] == ["r-1"] and _rows(app) == {}


def die() -> None:
    """A job whose process is killed as it runs (the out-of-memory killer, say)."""
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.redis
def test_a_job_whose_process_is_killed_backs_off_and_can_be_discarded(make_app, redis_url):
    """Its row noted nothing, so the sweep that hands over lost jobs retried it every minute for ever, and
    `jobs discard` refused it as not failed."""
    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-killed-job")
    with app.app_context(), transaction() as session:
        jobs.enqueue(session, die)
    jobs.run_worker(app, burst=True, worker_class=Worker)  # a forking worker: its work horse is killed
    with app.app_context():
        assert jobs.dispatch_pending() == 0  # not handed over again at once
    with app.app_context(), transaction() as session:
        row = session.scalar(select(PendingJob))
        assert row.failed_at is not None and row.next_attempt_at > row.failed_at and row.last_error
        jobs.discard_failed(session, row.id)
