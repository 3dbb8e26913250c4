"""One `plaudit cron` schedules at a time: a second stands by, and takes over when the first stops or dies."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from rq.utils import now

from core.cron import CronLease, LeasedCronScheduler, lease_key
from core.db import transaction
from core.jobs import dispatch_pending_job
from core.models import PendingJob, utcnow
from core.plugins import BUILTIN_PLUGINS

pytestmark = pytest.mark.redis
KEY = lease_key("test-cron")


def _scheduler(connection: Redis, holder: str, lease_seconds: int | None = None) -> LeasedCronScheduler:
    scheduler = LeasedCronScheduler(connection, "test-cron", holder=holder)
    if lease_seconds is not None:
        scheduler.lease = CronLease(connection, holder, KEY, seconds=lease_seconds)
    scheduler.register(dispatch_pending_job, "test-cron", interval=60)
    scheduler.register_birth()  # as start() does
    return scheduler


def _fall_due(scheduler: LeasedCronScheduler) -> None:
    """A minute later, as far as the scheduler's timetable goes."""
    for job in scheduler.get_jobs():
        job.next_enqueue_time = now() - timedelta(seconds=1)


def test_a_second_scheduler_stands_by_and_takes_over_when_the_first_stops(redis_url):
    connection = Redis.from_url(redis_url)
    queue = Queue("test-cron", connection=connection)
    first, second = _scheduler(connection, "host-a:1"), _scheduler(connection, "host-b:2")
    assert [job.func_name for job in first.enqueue_jobs()] == ["core.jobs.dispatch_pending_job"]
    assert second.enqueue_jobs() == []
    assert (first.leading, second.leading, queue.count) == (True, False, 1)
    # Standing by moves its timetable on: it does not wake straight away again for a job it will not enqueue.
    assert second.calculate_sleep_interval() > 50

    _fall_due(first), _fall_due(second)
    assert len(first.enqueue_jobs()) == 1 and second.enqueue_jobs() == []  # renewed, still the only one
    first.register_death()  # stopped (SIGTERM, Ctrl-C): the lease is released on the way out
    _fall_due(second)
    assert len(second.enqueue_jobs()) == 1 and second.leading
    assert queue.count == 3  # one job per minute, never two


def test_a_dead_holders_lease_lapses_and_it_stands_by_if_it_comes_back(redis_url):
    connection = Redis.from_url(redis_url)
    first, second = _scheduler(connection, "host-a:1", lease_seconds=1), _scheduler(connection, "host-b:2")
    assert len(first.enqueue_jobs()) == 1 and second.enqueue_jobs() == []
    time.sleep(1.2)  # the first stopped renewing (killed, or cut off from Redis) past its lease
    _fall_due(first), _fall_due(second)
    assert len(second.enqueue_jobs()) == 1
    assert first.enqueue_jobs() == [] and not first.leading  # back, it finds the lease taken: no second copy


def test_only_the_holder_renews_or_releases_the_lease(redis_url):
    connection = Redis.from_url(redis_url)
    mine, theirs = CronLease(connection, "host-a:1", KEY), CronLease(connection, "host-b:2", KEY)
    assert mine.current_holder() is None
    assert mine.hold() and not theirs.hold()
    theirs.release()
    holder, remaining = mine.current_holder()
    assert holder == "host-a:1" and 140 < remaining <= 150
    mine.release()
    assert theirs.hold() and theirs.current_holder()[0] == "host-b:2"
    other_deployment = CronLease(connection, "host-c:3", lease_key("other-queue"))  # sharing the Redis
    assert other_deployment.hold() and theirs.hold()


def test_jobs_status_says_which_process_schedules(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url)
    runner = app.test_cli_runner()
    assert "no `plaudit cron` holds the lease" in runner.invoke(args=["jobs", "status"]).output
    CronLease(Redis.from_url(redis_url), "cron-host:4242", lease_key(app.config["QUEUE_NAME"])).hold()
    assert "cron: scheduling in cron-host:4242 (its lease lapses in 150 s unless renewed)" in runner.invoke(
        args=["jobs", "status"]).output


def test_jobs_status_check_fails_a_monitor_on_what_does_not_run(make_app, redis_url):
    """A dead worker or scheduler showed nowhere a monitor could read: /healthz said ok and `jobs status`
    exited 0."""
    from rq import Worker

    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-status-check")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "status", "--check"])
    assert result.exit_code == 1 and "workers: none is running" in result.output
    assert "not healthy: no worker is running; no `plaudit cron` schedules" in result.stderr
    assert runner.invoke(args=["jobs", "status"]).exit_code == 0  # without --check it only shows
    connection = Redis.from_url(redis_url)
    worker = Worker(["test-status-check"], connection=connection, name="worker-host.7")
    worker.register_birth()
    try:
        CronLease(connection, "cron-host:4242", lease_key("test-status-check")).hold()
        healthy = runner.invoke(args=["jobs", "status", "--check"])
        assert healthy.exit_code == 0 and "workers: 1 (worker-host.7)" in healthy.output
        with app.app_context(), transaction() as session:  # due for ten minutes: no sweep handed it over
            session.add(PendingJob(func="core.retention.purge_expired_payloads_job", args=[],
                                   created_at=utcnow() - timedelta(minutes=10)))
        stuck = runner.invoke(args=["jobs", "status", "--check"])
        assert stuck.exit_code == 1 and "not healthy: 1 due job(s) wait undispatched" in stuck.stderr
    finally:
        worker.register_death()
        CronLease(connection, "cron-host:4242", lease_key("test-status-check")).release()


def test_jobs_status_check_fails_when_redis_does_not_answer(make_app):
    from tests.fixtures.services import DEAD_REDIS_URL

    result = make_app(REDIS_URL=DEAD_REDIS_URL).test_cli_runner().invoke(args=["jobs", "status", "--check"])
    assert result.exit_code == 1 and "not healthy: Redis does not answer" in result.stderr


def _start_cron(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", "cron"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_two_cron_processes_enqueue_each_job_once(database, redis_url, tmp_path):
    """Started twice by mistake, `plaudit cron` enqueued every job twice: two weekly e-mails to everyone."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")},
           "PLAUDIT_DATABASE_URL": database.url, "PLAUDIT_REDIS_URL": redis_url, "PLAUDIT_QUEUE_NAME": "test-cron",
           "PLAUDIT_SECRET_KEY": "s" * 32, "PLAUDIT_INSTANCE_PATH": str(tmp_path), "PYTHONUNBUFFERED": "1",
           "PLAUDIT_PLUGINS_ALLOWED": json.dumps(list(BUILTIN_PLUGINS))}  # none this machine may have installed
    connection = Redis.from_url(redis_url)
    queue, lease = Queue("test-cron", connection=connection), CronLease(connection, "", KEY)
    processes = []
    try:
        for _ in range(2):
            processes.append(_start_cron(env))
            deadline = time.monotonic() + 120  # a loaded CI machine starts Python slowly
            while not (lease.current_holder() and _registered(connection) == len(processes)):
                assert all(p.poll() is None for p in processes), processes[-1].stdout.read()
                if time.monotonic() > deadline:
                    for process in processes:
                        os.killpg(process.pid, signal.SIGTERM)
                    said = [process.communicate(timeout=30)[0] for process in processes]
                    raise AssertionError(f"the cron process never started scheduling (holder "
                                         f"{lease.current_holder()}, {_registered(connection)} registered): {said}")
                time.sleep(0.2)
            time.sleep(1)  # each enqueues the jobs due at once (the outbox sweep, the social poll) at start
        enqueued = sorted(job.func_name for job in queue.jobs)
        assert "core.jobs.dispatch_pending_job" in enqueued and len(enqueued) == len(set(enqueued)), enqueued
        assert f":{processes[0].pid}:" in lease.current_holder()[0]
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):  # it failed already: its output says why
                os.killpg(process.pid, signal.SIGTERM)
        outputs = [process.communicate(timeout=30)[0] for process in processes]
    assert "standing by" in outputs[1] and re.search(rf":{processes[0].pid}:\w+ holds the cron lease", outputs[1])
    assert lease.current_holder() is None  # both stopped: the holder released it on the way out


def _registered(connection: Redis) -> int:
    """How many cron schedulers have registered with RQ (each does once it starts its loop)."""
    from rq.cron import CronScheduler

    return len(CronScheduler.all(connection))


def test_a_cron_occurrence_goes_once_across_a_handover(redis_url):
    """The holder enqueued Monday 02:00's appraisal and stopped; the one taking over woke a moment before its own
    clock passed 02:00, so the occurrence was due for it too, and the appraisal was requested twice."""
    weekly = dispatch_pending_job  # any importable job stands in for the weekly appraisal
    connection = Redis.from_url(redis_url)
    queue = Queue("test-cron", connection=connection)
    first, second = (LeasedCronScheduler(connection, "test-cron", holder=name) for name in ("host-a:1", "host-b:2"))
    for scheduler in (first, second):
        scheduler.register(weekly, "test-cron", cron="0 2 * * 1")
        scheduler.register_birth()
    assert first.get_jobs()[0].next_enqueue_time == second.get_jobs()[0].next_enqueue_time  # the same Monday
    occurrence = now() - timedelta(seconds=1)  # ... whose 02:00 has just come
    for scheduler in (first, second):
        scheduler.get_jobs()[0].next_enqueue_time = occurrence
    assert len(first.enqueue_jobs()) == 1
    first.register_death()  # stopped right after
    assert second.enqueue_jobs() == [] and second.leading  # took over, and knew it had gone
    assert queue.count == 1
