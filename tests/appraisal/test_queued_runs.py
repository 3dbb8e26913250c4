"""A period asked for again while its run waits for a worker: that run, unless it has waited too long."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from appraisal.models import AppraisalRun
from appraisal.runs import STILL_WAITING, compute_run, request_run
from core import jobs
from core.db import transaction
from core.models import AuditEntry
from tests.fixtures.appraisal import WEEK

from .test_reruns import _publish


@pytest.mark.redis
def test_a_period_asked_for_again_while_its_run_waits_for_a_worker_gets_that_run(worked_example, make_app,
                                                                              redis_url):
    version = _publish(lambda document: document.update(min_sample=5), "smaller samples")
    queued = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-again")  # no worker: the run stays queued
    with queued.app_context():
        with transaction() as session:
            first = request_run(session, WEEK).id
        with transaction() as session:
            assert request_run(session, WEEK).id == first  # it has not read the feedback yet: nothing to add
            other_version = request_run(session, WEEK, guideline_version_number=version - 1).id
            assert other_version != first  # asked for under another version: its own run
        with transaction() as session:
            requested = session.scalars(select(AuditEntry.entity_id).where(
                AuditEntry.action == "appraisal.requested")).all()
            assert sorted(map(int, requested)) == [first, other_version]
        assert Queue("test-again", connection=jobs.redis_connection(queued)).count == 2
        with transaction() as session:  # one waiting longer than a job takes may have lost its job
            session.get(AppraisalRun, other_version).created_at -= STILL_WAITING + timedelta(minutes=1)
        with transaction() as session:
            anew = request_run(session, WEEK, guideline_version_number=version - 1).id
        assert anew != other_version
        assert compute_run(first) == "completed"
        with transaction() as session:
            again = request_run(session, WEEK).id
        assert again not in (first, other_version, anew)  # the one it had has read the feedback: a new run
