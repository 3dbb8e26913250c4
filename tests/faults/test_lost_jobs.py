"""A job Redis lost (restarted without its data) is handed over again by the next sweep, not an hour later."""
from __future__ import annotations

import pytest
from rq import SimpleWorker
from rq.job import Job
from sqlalchemy import select

from core import jobs
from core.db import transaction
from core.ingestion import ingest
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
