"""The admin's jobs page: the outbox, the queue and its workers, failed jobs discarded; inline or on Redis."""
from __future__ import annotations

from datetime import timedelta

from rq import Queue, SimpleWorker, Worker
from sqlalchemy import insert, select

from core import jobs
from core.db import transaction
from core.models import PendingJob, utcnow
from tests.fixtures.org import csrf_token, sign_in
from tests.fixtures.services import DEAD_REDIS_URL
from tests.web.admin_support import audited


def broken_job():
    """A job that always fails, for the failure listings."""
    raise ValueError("broken on purpose")


def _pending(app) -> list[PendingJob]:
    with app.app_context(), transaction() as session:
        return list(session.scalars(select(PendingJob).order_by(PendingJob.id)))


def _add_pending(app, *rows: dict) -> None:
    with app.app_context(), transaction() as session:
        session.execute(insert(PendingJob), list(rows))


def test_the_jobs_page_inline(app, client, login, accounts):
    later = utcnow() + timedelta(minutes=5)
    _add_pending(app, {"func": "core.ingestion.announce_feedback", "args": [[]], "attempts": 0,
                       "created_at": utcnow() - timedelta(hours=2)},
                 {"func": "tests.web.test_admin_jobs_page.broken_job", "args": [], "attempts": 3,
                  "next_attempt_at": later, "last_error": "ValueError: broken on purpose", "created_at": utcnow(),
                  "failed_at": utcnow()})
    login("admin@example.com")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "Jobs run inline" in html
    assert "2 job(s): 1 waiting, 0 queued or running, 1 retrying." in html
    assert "Oldest: <code>core.ingestion.announce_feedback</code>" in html
    assert "ValueError: broken on purpose" in html
    assert "core.jobs.dispatch_pending_job" in html and "every 60 s" in html
    assert "appraisal.runs.appraise_last_week" in html and "cron 0 2-6 * * 1" in html

    response = client.post("/admin/jobs/dispatch", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert "1 waiting job(s) run here." in client.get("/admin/jobs").get_data(as_text=True)
    assert [row.func for row in _pending(app)] == ["tests.web.test_admin_jobs_page.broken_job"]  # not due yet
    [entry] = audited(app, "jobs.dispatched")
    assert (entry.actor_id, entry.after) == (accounts["admin"], {"dispatched": 1})
    # Nothing due now: without Redis that is the only reason, and the page gives no other
    html = client.get("/admin/jobs").get_data(as_text=True)
    client.post("/admin/jobs/dispatch", data={"csrf_token": csrf_token(html)})
    assert "No job was dispatched: none is due." in client.get("/admin/jobs").get_data(as_text=True)


def test_a_failed_job_that_never_can_succeed_is_discarded_on_the_page_and_by_the_cli(app, client, login, accounts):
    """An invitation whose link cannot be rebuilt failed every hour for ever, and nothing could give up on it."""
    failed = {"last_error": "RuntimeError: cannot be rebuilt", "created_at": utcnow(), "failed_at": utcnow(),
              "next_attempt_at": utcnow() + timedelta(hours=1)}
    _add_pending(app, {"func": "core.ingestion.announce_feedback", "args": [[]], "attempts": 0,
                       "created_at": utcnow()},
                 {"func": "tests.web.test_admin_jobs_page.broken_job", "args": [7], "attempts": 40, **failed},
                 {"func": "tests.web.test_admin_jobs_page.broken_job", "args": [8], "attempts": 2, **failed},
                 # failed before, and handed over again: a retry queued or running now, still on its way
                 {"func": "tests.web.test_admin_jobs_page.broken_job", "args": [9], "attempts": 3, **failed,
                  "failed_at": None})
    waiting, broken, other, retrying = sorted(_pending(app), key=lambda row: row.id)
    login("admin@example.com")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert f'action="/admin/jobs/{broken.id}/discard"' in html
    for on_its_way in (waiting, retrying):  # only jobs waiting out a failure offer it
        assert f'action="/admin/jobs/{on_its_way.id}/discard"' not in html
    # A job still on its way is not given up on, even when asked by its id.
    for on_its_way in (waiting, retrying):
        client.post(f"/admin/jobs/{on_its_way.id}/discard", data={"csrf_token": csrf_token(html)})
        assert "is not waiting after a failure" in client.get("/admin/jobs").get_data(as_text=True)
    response = client.post(f"/admin/jobs/{broken.id}/discard", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert f"Job {broken.id} (tests.web.test_admin_jobs_page.broken_job) discarded" in client.get(
        "/admin/jobs").get_data(as_text=True)
    [entry] = audited(app, "job.discarded")
    assert entry.actor_id == accounts["admin"] and entry.entity_id == str(broken.id)
    assert entry.before["args"] == [7] and entry.before["last_error"] == "RuntimeError: cannot be rebuilt"

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "failing"]).output
    assert f"{other.id}  tests.web.test_admin_jobs_page.broken_job[8]  2 attempt(s)" in listing
    assert runner.invoke(args=["jobs", "discard", str(waiting.id), "--yes"]).exit_code == 2
    assert runner.invoke(args=["jobs", "discard", str(other.id)], input="n\n").exit_code == 1
    assert runner.invoke(args=["jobs", "discard", str(other.id), "--yes"]).exit_code == 0
    assert sorted(row.id for row in _pending(app)) == [waiting.id, retrying.id]
    assert "no failed job waits" in runner.invoke(args=["jobs", "failing"]).output


def test_the_jobs_page_with_redis(make_app, accounts, redis_url):
    app = make_app(REDIS_URL=redis_url, QUEUE_NAME="test-admin")
    connection = jobs.redis_connection(app)
    queue = Queue("test-admin", connection=connection)
    queue.enqueue("tests.web.test_admin_jobs_page.broken_job")
    with app.app_context():
        SimpleWorker([queue], connection=connection).work(burst=True)  # into the failed job registry
    idle = Worker([queue], connection=connection, name="idle-worker")
    idle.register_birth()
    try:
        _add_pending(app, {"func": "core.ingestion.announce_feedback", "args": [[]], "attempts": 0,
                           "created_at": utcnow()})
        client = app.test_client()
        assert sign_in(client, "admin@example.com").status_code == 302
        html = client.get("/admin/jobs").get_data(as_text=True)
        where = redis_url.removeprefix("redis://")  # db 15 unless PLAUDIT_TEST_REDIS_URL names another
        assert f"RQ on Redis at {where}: 0 queued, 0 running, 1 in the failed job registry; 1 worker(s)." in html
        assert "idle-worker" in html and "ValueError: broken on purpose" in html and "broken_job" in html

        assert client.post("/admin/jobs/dispatch", data={"csrf_token": csrf_token(html)}).status_code == 303
        assert "1 waiting job(s) handed to the queue." in client.get("/admin/jobs").get_data(as_text=True)
        assert queue.count == 1
        [handed] = _pending(app)
        assert handed.attempts == 1 and handed.next_attempt_at > utcnow()
    finally:
        idle.register_death()


def test_the_jobs_page_when_redis_is_unreachable(make_app, accounts):
    app = make_app(REDIS_URL=DEAD_REDIS_URL)
    _add_pending(app, {"func": "core.ingestion.announce_feedback", "args": [[]], "attempts": 0,
                       "created_at": utcnow()})
    client = app.test_client()
    assert sign_in(client, "admin@example.com").status_code == 302
    response = client.get("/admin/jobs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Redis unreachable at 127.0.0.1:1/0" in html

    assert client.post("/admin/jobs/dispatch", data={"csrf_token": csrf_token(html)}).status_code == 303
    assert "No job was dispatched: none is due, or Redis cannot be reached" in client.get("/admin/jobs").get_data(
        as_text=True)
    [waiting] = _pending(app)
    assert "queue unreachable" in waiting.last_error  # kept for when Redis is back
    # Not an attempt, and no failure of the job's: its backoff starts afresh when it first fails, and nobody
    # is offered to give up on it.
    assert waiting.attempts == 0 and waiting.failed_at is None
