"""A worker SIGKILLed in the middle of a run leaves no partial results, and the retried run completes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select, update

from appraisal.models import AppraisalResult, AppraisalRun, MetricResult, Recommendation
from appraisal.runs import request_run
from core import jobs
from core.db import transaction
from core.models import PendingJob, utcnow
from tests.fixtures.appraisal import WEEK

from .test_reruns import _snapshot

SLOW_PLUGIN = '''
"""Holds an appraisal run in the middle of writing its results, so a test can kill the worker there."""
import os
import pathlib
import time

from core import hookimpl


@hookimpl
def recommend(result, guideline):
    pathlib.Path(os.environ["SLOW_APPRAISAL_MARKER"]).write_text(str(os.getpid()))
    time.sleep(120)
    return []
'''


def _install_slow_plugin(folder):
    """A plugin package found through its entry point, like any installed plugin."""
    (folder / "slow_appraisal.py").write_text(textwrap.dedent(SLOW_PLUGIN))
    dist = folder / "slow_appraisal-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-appraisal\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[plaudit]\nslow_appraisal = slow_appraisal\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _rows_of(session, run_id):
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)
                                                .where(model.run_id == run_id))
            for model in (AppraisalResult, MetricResult, Recommendation)}


@pytest.mark.redis
def test_a_worker_killed_mid_run_leaves_nothing_and_the_retry_completes(worked_example, make_app, database,
                                                                        redis_url, tmp_path):
    reference = _snapshot(worked_example.run())  # the same period computed undisturbed, inline
    queued = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-kill")
    with queued.app_context(), transaction() as session:
        run_id = request_run(session, WEEK).id  # handed to Redis on commit

    plugin_dir, marker = tmp_path / "plugin", tmp_path / "marker"
    plugin_dir.mkdir()
    _install_slow_plugin(plugin_dir)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")},
           "PLAUDIT_DATABASE_URL": database.url, "PLAUDIT_REDIS_URL": redis_url,
           "PLAUDIT_QUEUE_NAME": "test-kill", "PLAUDIT_SECRET_KEY": "s" * 32,
           "PLAUDIT_INSTANCE_PATH": str(tmp_path / "worker"), "SLOW_APPRAISAL_MARKER": str(marker),
           "PYTHONPATH": os.pathsep.join([str(plugin_dir), *sys.path])}
    worker = subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", "worker", "--burst"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert worker.poll() is None, worker.stdout.read().decode()
            assert time.monotonic() < deadline, "the worker never reached the middle of the run"
            time.sleep(0.1)
        # A reader is not held up by the run's open transaction (on SQLite it holds the write lock).
        with queued.extensions["plaudit.db"].read_sessionmaker() as session:
            assert session.get(AppraisalRun, run_id).status == "running"
        horse = int(marker.read_text())  # RQ runs the job in a forked child, in a session of its own
        os.kill(horse, signal.SIGKILL)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while _alive(horse):
        assert time.monotonic() < deadline, "the killed job's process is still there"
        time.sleep(0.1)

    with queued.app_context(), transaction() as session:
        assert session.get(AppraisalRun, run_id).status == "running"
        assert _rows_of(session, run_id) == {"appraisal_results": 0, "metric_results": 0, "recommendations": 0}
        # The outbox still holds the job; once its lease runs out it is handed over again.
        pending = session.scalars(select(PendingJob).where(PendingJob.func.like("%compute_run"))).all()
        assert [p.args for p in pending] == [[run_id]]
        session.execute(update(PendingJob).where(PendingJob.id == pending[0].id)
                        .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    with queued.app_context():
        assert jobs.dispatch_pending() == 1
    jobs.run_worker(queued, burst=True, worker_class=SimpleWorker)
    with queued.app_context(), transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert (run.status, run.attempts) == ("completed", 2)
    with queued.app_context():
        assert _snapshot(run_id) == reference
