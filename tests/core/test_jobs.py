"""Follow-up jobs: inline without Redis, on RQ with it, and never lost while Redis is down."""
from __future__ import annotations

import os

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from core import jobs
from core.db import transaction
from core.ingestion import announce_feedback, ingest
from core.models import Feedback, PendingJob
from tests.fixtures.payloads import survey
from tests.fixtures.services import DEAD_REDIS_URL


def _ingest(app, *payloads):
    with app.app_context(), transaction() as session:
        return ingest(session, "post_ticket_survey", list(payloads))


def _pending(app) -> list[PendingJob]:
    with app.app_context(), transaction() as session:
        return list(session.scalars(select(PendingJob)))


def test_inline_mode_runs_follow_up_work_after_commit(make_app, recorder):
    app = make_app(extra_plugins={"recorder": recorder})
    report = _ingest(app, survey("r-1"), survey("r-2"))
    assert recorder.ingested == [(s.feedback_id, s.external_id) for s in report.created]
    assert _pending(app) == []


def test_rolled_back_ingestion_runs_and_leaves_nothing(make_app, recorder):
    app = make_app(extra_plugins={"recorder": recorder})
    with app.app_context(), pytest.raises(RuntimeError), transaction() as session:
        ingest(session, "post_ticket_survey", [survey()])
        raise RuntimeError("the caller gives up")
    assert recorder.ingested == []
    assert _pending(app) == []
    with app.app_context(), transaction() as session:
        assert session.scalar(select(func.count()).select_from(Feedback)) == 0


def test_duplicates_are_not_announced_again(make_app, recorder):
    app = make_app(extra_plugins={"recorder": recorder})
    _ingest(app, survey())
    _ingest(app, survey())
    assert len(recorder.ingested) == 1


def test_rq_worker_runs_the_follow_up_work(make_app, recorder, redis_url):
    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-rq", extra_plugins={"recorder": recorder})
    report = _ingest(app, survey())
    queue = Queue("test-rq", connection=jobs.redis_connection(app))
    assert queue.count == 1 and recorder.ingested == []  # handed over, not run in the request
    [handed] = _pending(app)  # kept, under a lease, until the job has succeeded
    assert handed.next_attempt_at is not None and handed.attempts == 1

    jobs.run_worker(app, burst=True, worker_class=SimpleWorker)
    assert _pending(app) == []

    assert recorder.ingested == [(report.created[0].feedback_id, "r-1")]
    with app.app_context():  # a retried or duplicated job announces nothing twice
        assert announce_feedback([report.created[0].feedback_id]) == 0
    assert len(recorder.ingested) == 1


def test_with_redis_down_items_are_stored_and_work_runs_once_redis_is_back(make_app, recorder, redis_url):
    down = make_app(REDIS_URL=DEAD_REDIS_URL, QUEUE_NAME="test-outage", extra_plugins={"recorder": recorder})
    report = _ingest(down, survey("r-1"), survey("r-2"))

    assert [s.external_id for s in report.created] == ["r-1", "r-2"]
    with down.app_context(), transaction() as session:
        assert session.scalar(select(func.count()).select_from(Feedback)) == 2
    [waiting] = _pending(down)
    assert waiting.func == "core.ingestion.announce_feedback" and waiting.attempts == 0  # never ran: no attempt
    assert "unreachable" in waiting.last_error
    assert recorder.ingested == []

    back = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-outage", extra_plugins={"recorder": recorder})
    jobs.run_worker(back, burst=True, worker_class=SimpleWorker)

    assert sorted(ext for _, ext in recorder.ingested) == ["r-1", "r-2"]
    assert _pending(back) == []


def test_cron_sweeps_work_stranded_by_an_outage(make_app, recorder, redis_url):
    down = make_app(REDIS_URL=DEAD_REDIS_URL, QUEUE_NAME="test-cron", extra_plugins={"recorder": recorder})
    _ingest(down, survey())
    assert len(_pending(down)) == 1

    back = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-cron", extra_plugins={"recorder": recorder})
    scheduler = jobs.build_cron_scheduler(back)
    # interval entries run at once when the scheduler starts: the sweep, the social sources' poll and the
    # overdue tickets' sweep
    assert [job.func_name for job in scheduler.enqueue_jobs()] == [
        "core.jobs.dispatch_pending_job", "channels.social_monitoring.polling.poll_due_sources",
        "channels.post_ticket_survey.overdue.sweep_overdue"]
    worker = SimpleWorker(["test-cron"], connection=jobs.redis_connection(back))
    with back.app_context():
        worker.work(burst=True)  # runs the sweep, which enqueues the stranded job, which runs too

    assert [ext for _, ext in recorder.ingested] == ["r-1"]
    assert _pending(back) == []


def test_failing_inline_job_stays_pending_with_its_error(make_app):
    from core import hookimpl

    class Broken:
        @hookimpl
        def feedback_ingested(self, feedback):
            raise ValueError("mail server said no")

    app = make_app(extra_plugins={"broken": Broken()})
    report = _ingest(app, survey())
    assert report.created  # the item is stored even though its follow-up failed
    [waiting] = _pending(app)
    assert waiting.attempts == 1 and "mail server said no" in waiting.last_error


def test_plaudit_worker_process_runs_queued_work(make_app, database, redis_url, tmp_path):
    """The real `plaudit worker`, which forks a child per job, against the same database and Redis."""
    import os
    import subprocess
    import sys

    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-process")
    report = _ingest(app, survey())
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")},
           "PLAUDIT_DATABASE_URL": database.url, "PLAUDIT_REDIS_URL": redis_url,
           "PLAUDIT_QUEUE_NAME": "test-process", "PLAUDIT_SECRET_KEY": "s" * 32,
           "PLAUDIT_INSTANCE_PATH": str(tmp_path / "worker")}
    result = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "worker", "--burst"],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    with app.app_context(), transaction() as session:
        announced = session.scalar(select(Feedback.announced_at).where(
            Feedback.id == report.created[0].feedback_id))
    assert announced is not None, result.stderr


def test_a_job_lost_from_redis_is_handed_over_again_at_the_next_sweep(make_app, recorder, redis_url):
    """Redis restarted without persistence: the queued job is gone, the outbox still has it, and the next
    sweep hands it over at once (a job Redis still knows, however slow, is left to its worker)."""
    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-lost", extra_plugins={"recorder": recorder})
    report = _ingest(app, survey())
    with app.app_context():
        assert jobs.dispatch_pending() == 0  # queued in Redis and under its lease: nothing to hand over
    jobs.redis_connection(app).flushdb()  # the job is lost
    with app.app_context():
        assert jobs.dispatch_pending() == 1
    jobs.run_worker(app, burst=True, worker_class=SimpleWorker)
    assert recorder.ingested == [(report.created[0].feedback_id, "r-1")]
    assert _pending(app) == []


def test_one_failing_item_does_not_hold_back_the_others(make_app, recorder):
    from core import hookimpl

    class Picky:
        @hookimpl
        def feedback_ingested(self, feedback):
            if feedback.external_id == "r-2":
                raise ValueError("cannot alert about r-2")

    app = make_app(extra_plugins={"recorder": recorder, "picky": Picky()})
    _ingest(app, survey("r-1"), survey("r-2"), survey("r-3"))
    with app.app_context(), transaction() as session:
        announced = dict(session.execute(select(Feedback.external_id, Feedback.announced_at.is_not(None))).all())
    assert announced == {"r-1": True, "r-2": False, "r-3": True}
    [waiting] = _pending(app)  # the job is kept for r-2 alone
    assert "cannot alert about r-2" in waiting.last_error and waiting.next_attempt_at is not None


def test_what_a_failing_item_wrote_is_rolled_back_and_the_others_keep_theirs_once(make_app):
    from core import hookimpl

    class Noting:
        @hookimpl
        def feedback_ingested(self, feedback):
            feedback.comment = (feedback.comment or "") + "noted;"
            if feedback.external_id in ("r-2", "r-4"):
                raise ValueError(f"cannot alert about {feedback.external_id}")

    app = make_app(extra_plugins={"noting": Noting()})
    _ingest(app, *(survey(f"r-{n}") for n in range(1, 6)))
    with app.app_context(), transaction() as session:
        stored = {ext: (announced, comment) for ext, announced, comment in session.execute(
            select(Feedback.external_id, Feedback.announced_at.is_not(None), Feedback.comment))}
    assert stored == {"r-1": (True, "noted;"), "r-2": (False, None), "r-3": (True, "noted;"),
                      "r-4": (False, None), "r-5": (True, "noted;")}
    [waiting] = _pending(app)
    assert "cannot alert about r-2" in waiting.last_error and "cannot alert about r-4" in waiting.last_error


def test_failed_inline_job_is_retried_by_a_later_dispatch(make_app, recorder):
    from datetime import timedelta

    from sqlalchemy import update

    from core import hookimpl
    from core.models import utcnow

    class Flaky:
        def __init__(self):
            self.failures = 1

        @hookimpl
        def feedback_ingested(self, feedback):
            if self.failures:
                self.failures -= 1
                raise ConnectionError("mail server busy")

    # Registered after the recorder, so pluggy calls it first: its failure stops the recorder hearing r-1.
    app = make_app(extra_plugins={"recorder": recorder, "flaky": Flaky()})
    _ingest(app, survey("r-1"))
    assert len(_pending(app)) == 1
    [failed] = _pending(app)
    assert failed.next_attempt_at > utcnow()  # backing off
    with app.app_context(), transaction() as session:  # a while later...
        session.execute(update(PendingJob).values(created_at=utcnow() - timedelta(minutes=1),
                                                  next_attempt_at=utcnow() - timedelta(seconds=1)))
    _ingest(app, survey("r-2"))  # ...the next commit's dispatch takes the stranded job along
    assert sorted(ext for _, ext in recorder.ingested) == ["r-1", "r-2"]
    assert _pending(app) == []


def test_the_cron_process_reads_schedules_on_the_organisations_clock_whatever_the_servers_zone():
    """On a server set to Tokyo, RQ read the weekly appraisal's '0 2 * * 1' as 02:00 Tokyo: 17:00 UTC on a
    Sunday, before a UTC organisation's week had ended. `plaudit cron` keeps the organisation's clock: for an
    organisation in Auckland, 02:00 on Monday there."""
    import subprocess
    import sys

    probe = ("import sys\n"
             "from zoneinfo import ZoneInfo\n"
             "from rq.cron import CronJob\n"
             "import core.jobs\n"
             "zone = sys.argv[1]\n"
             "if zone != 'local': core.jobs.keep_cron_on_org_clock(zone)\n"
             "job = CronJob(func=print, queue_name='q', cron='0 2 * * 1')\n"
             "seen_in = ZoneInfo('UTC' if zone == 'local' else zone)\n"
             "print(job.get_next_enqueue_time().astimezone(seen_in).strftime('%a %H:%M'))\n")
    env = {**os.environ, "TZ": "JST-9"}  # Tokyo, as a POSIX rule: no zone database needed
    seen = {zone: subprocess.run([sys.executable, "-c", probe, zone], env=env, capture_output=True, text=True,
                                 check=True).stdout.strip() for zone in ("local", "UTC", "Pacific/Auckland")}
    assert seen == {"local": "Sun 17:00", "UTC": "Mon 02:00", "Pacific/Auckland": "Mon 02:00"}


def test_the_cron_process_says_when_the_system_cannot_keep_the_organisations_clock(tmp_path):
    """Python knows every zone from tzdata; the C library, whose clock RQ's cron reads, only the system's files.
    Without them it kept UTC without a word, and the weekly run came at 02:00 UTC."""
    import subprocess
    import sys

    probe = ("import logging, core.jobs\nlogging.basicConfig()\n"
             "core.jobs.keep_cron_on_org_clock('America/Los_Angeles')\n")
    said = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "TZDIR": str(tmp_path)},
                          capture_output=True, text=True, check=True).stderr
    assert "no time zone file for America/Los_Angeles (PLAUDIT_TIME_ZONE): cron reads its schedules in UTC" in said


def test_a_worker_that_cannot_reach_redis_says_so_and_waits_for_it(make_app, monkeypatch):
    """It died with sixty lines of traceback, naming no setting, and a supervisor restarted it in a loop."""
    import time

    runner = make_app(REDIS_URL=DEAD_REDIS_URL).test_cli_runner()
    burst = runner.invoke(args=["worker", "--burst"])
    assert burst.exit_code == 1 and "Redis unreachable (ConnectionError): is it running, and PLAUDIT_REDIS_URL right?" \
        in burst.output and "Traceback" not in burst.output
    waits = []

    def sleep(seconds):  # the second wait stands for the supervisor's Ctrl+C
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)
    waiting = runner.invoke(args=["worker"])
    assert waiting.exit_code == 0 and waits == [5, 5]
    assert waiting.output.count("Redis unreachable (ConnectionError; see PLAUDIT_REDIS_URL); retrying in 5s") == 2
    assert "worker stopped" in waiting.output
