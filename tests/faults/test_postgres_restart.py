"""PostgreSQL restarted under load: requests meanwhile get a clean 503, none is half-written, and the service
recovers by itself.

The database is a cluster of the test's own (see :mod:`tests.faults.servers`). Four clients post answers
and, like any client told ``Retry-After``, send a refused answer again; the same app keeps serving
throughout, never restarted.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from core import jobs
from core.app import create_app
from core.db import transaction
from core.migrate import upgrade
from core.models import Feedback, PendingJob, utcnow
from tests.fixtures.app import SECRET
from tests.fixtures.org import sign_in
from tests.fixtures.payloads import survey

from .load import AGENT, BOT_EMAIL, BOT_PASSWORD, Load, build_org
from .servers import PrivatePostgres

SENT = 400
STOPPED_AT = 120
DOWN_SECONDS = 3


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.mark.faults
def test_postgres_restart_answers_503_writes_nothing_half_and_recovers(private_postgres, record_figures,
                                                                         tmp_path):
    upgrade(private_postgres.url)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": private_postgres.url,
                      "SECRET_KEY": SECRET, "REDIS_URL": None, "TESTING": False})
    try:
        token = build_org(app)
        browser = app.test_client()
        assert sign_in(browser, BOT_EMAIL, BOT_PASSWORD).status_code == 302
        payloads = [survey(f"restart-{n:04d}", rating=5, agent=AGENT) for n in range(SENT)]
        load = Load(app, token, payloads, retry_unavailable=True).start()
        load.wait_for_acknowledged(STOPPED_AT)
        stopping = time.monotonic()
        private_postgres.stop()
        stopped = time.monotonic()
        # Pages and the health check are refused as cleanly: a 503 page saying nothing was saved, no trace.
        page, health = browser.get("/"), browser.get("/healthz")
        time.sleep(max(DOWN_SECONDS - (time.monotonic() - stopped), 0))
        private_postgres.start()
        back = time.monotonic()
        load.join()

        assert load.unexpected == [], load.unexpected[:5]
        assert (page.status_code, page.mimetype, page.headers["Retry-After"]) == (503, "text/html", "5")
        assert "nothing was saved" in page.get_data(as_text=True) and "Traceback" not in page.get_data(as_text=True)
        assert health.status_code == 503
        assert (browser.get("/").status_code, browser.get("/healthz").status_code) == (200, 200)  # still signed in
        assert load.unavailable, "no request met the restart"
        for _when, headers, body in load.unavailable:
            assert headers["Content-Type"] == "application/json" and headers["Retry-After"] == "5"
            assert body["code"] == 503 and "nothing was saved" in body["message"]
        after_back = sorted(when for _status, when in load.acknowledged.values() if when > back)
        recovered_in = after_back[0] - back
        refused_after_back = sum(when > back for when, _h, _b in load.unavailable)

        with app.app_context(), transaction() as session:
            stored = list(session.scalars(select(Feedback.external_id)))
            # Nothing half-written: every stored answer was announced or its announcement waits in the outbox.
            waiting = {fid for args in session.scalars(select(PendingJob.args)) for fid in args[0]}
            announced = set(session.scalars(select(Feedback.id).where(Feedback.announced_at.is_not(None))))
            all_ids = set(session.scalars(select(Feedback.id)))
            outbox = session.scalar(select(func.count()).select_from(PendingJob))
        # The jobs the stop cut off run at a later dispatch, once their lease is out (the clock is moved).
        with app.app_context(), transaction() as session:
            session.execute(update(PendingJob).values(next_attempt_at=utcnow()))
        with app.app_context():
            jobs.dispatch_pending()
        with app.app_context(), transaction() as session:
            outbox_after_sweep = session.scalar(select(func.count()).select_from(PendingJob))
            unannounced_after_sweep = session.scalar(select(func.count()).select_from(Feedback)
                                                     .where(Feedback.announced_at.is_(None)))
        # A 503 may answer a commit the server made just before it went: the client's retry is then a duplicate.
        in_doubt = sum(status == 200 for status, _when in load.acknowledged.values())
        record_figures("postgres", sent=SENT, requests=load.requests, acknowledged=len(load.acknowledged),
                       stored=len(stored), unavailable_503=len(load.unavailable), other_errors=len(load.unexpected),
                       acknowledged_as_duplicate=in_doubt, stop_seconds=round(stopped - stopping, 2),
                       down_seconds=round(back - stopping, 2), recovered_seconds=round(recovered_in, 3),
                       refused_after_back=refused_after_back, unannounced_waiting_in_outbox=len(all_ids - announced),
                       outbox=outbox, outbox_after_sweep=outbox_after_sweep,
                       unannounced_after_sweep=unannounced_after_sweep)
        assert sorted(stored) == sorted(p["response_id"] for p in payloads)  # each exactly once
        assert len(load.acknowledged) == SENT
        assert all_ids - announced <= waiting
        assert recovered_in < 5
        assert (outbox_after_sweep, unannounced_after_sweep) == (0, 0)
    finally:
        app.extensions["plaudit.db"].dispose()
