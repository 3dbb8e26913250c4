"""Redis stopped mid-load: every answer is still acknowledged and stored, and its work drains once Redis is back.

The app hands follow-up work (announcing each item, then e-mail alerts for low ratings) to RQ through the
outbox. Redis is killed while four clients post answers, so the jobs it held in memory are lost, and the
jobs of the requests that follow cannot be handed over at all; then Redis starts again, empty. A real
``plaudit worker --burst`` must then find all of that work in the outbox and do it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from core.db import transaction
from core.models import Feedback, PendingJob
from tests.fixtures.app import SECRET
from tests.fixtures.payloads import survey

from .load import AGENT, Load, build_org

SENT = 450
#: Redis is killed after this many answers are acknowledged, and started again after this many.
KILLED_AT, BACK_AT = 150, 300
LOW = 1  # a CSAT of 1: an alert to Ann's manager


def _payloads() -> list[dict]:
    return [survey(f"load-{n:04d}", rating=LOW if n % 5 == 0 else 5, agent=AGENT) for n in range(SENT)]


def _outbox(app) -> int:
    with app.app_context(), transaction() as session:
        return session.scalar(select(func.count()).select_from(PendingJob))


def _run_worker(app, redis_url: str, smtp_port: int, tmp_path) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")},
           "PLAUDIT_DATABASE_URL": app.config["DATABASE_URL"], "PLAUDIT_REDIS_URL": redis_url,
           "PLAUDIT_QUEUE_NAME": app.config["QUEUE_NAME"], "PLAUDIT_SECRET_KEY": SECRET,
           "PLAUDIT_INSTANCE_PATH": str(tmp_path / "worker"), "PLAUDIT_MAIL_SERVER": "127.0.0.1",
           "PLAUDIT_MAIL_PORT": str(smtp_port), "PLAUDIT_MAIL_SECURITY": "none",
           "PLAUDIT_MAIL_FROM": "plaudit@example.com", "PLAUDIT_PUBLIC_URL": "https://plaudit.example.com"}
    return subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "worker", "--burst"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.faults
def test_redis_killed_mid_load_loses_nothing_and_the_work_drains(make_app, private_redis, smtp_server,
                                                                 record_figures, tmp_path):
    inbox, smtp_port = smtp_server
    app = make_app(REDIS_URL=private_redis.url, QUEUE_NAME="faults", TESTING=False, MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=smtp_port, MAIL_SECURITY="none", MAIL_FROM="plaudit@example.com",
                   PUBLIC_URL="https://plaudit.example.com")
    token = build_org(app)
    payloads = _payloads()

    started = time.monotonic()
    load = Load(app, token, payloads).start()
    load.wait_for_acknowledged(KILLED_AT)
    private_redis.stop()
    killed = time.monotonic()
    load.wait_for_acknowledged(BACK_AT)
    acknowledged_while_down = len(load.acknowledged) - KILLED_AT
    private_redis.start()  # empty: what it held died with it
    down_for = time.monotonic() - killed
    load.join()
    load_seconds = time.monotonic() - started

    assert load.unexpected == [] and load.unavailable == []
    assert len(load.acknowledged) == SENT and set(load.statuses) == {201}
    with app.app_context(), transaction() as session:
        stored = set(session.scalars(select(Feedback.external_id)))
    assert stored == {p["response_id"] for p in payloads}
    pending_after_load = _outbox(app)
    assert pending_after_load > 0  # the work Redis lost or never got waits in the database

    drain_started = time.monotonic()
    worker = _run_worker(app, private_redis.url, smtp_port, tmp_path)
    drained_in = time.monotonic() - drain_started
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]
    pending_after_worker = _outbox(app)
    with app.app_context(), transaction() as session:
        unannounced = session.scalar(select(func.count()).select_from(Feedback)
                                     .where(Feedback.announced_at.is_(None)))
    low = sum(p["rating"] == LOW for p in payloads)
    deadline = time.monotonic() + 30  # the SMTP server's thread files what it was sent
    while len(inbox.messages) < low and time.monotonic() < deadline:
        time.sleep(0.1)
    record_figures("redis", sent=SENT, acknowledged=len(load.acknowledged), stored=len(stored),
                   errors=sum(n for status, n in load.statuses.items() if status >= 400),
                   acknowledged_while_down=acknowledged_while_down, redis_down_seconds=round(down_for, 2),
                   load_seconds=round(load_seconds, 2), outbox_after_load=pending_after_load,
                   outbox_after_worker=pending_after_worker, drain_seconds=round(drained_in, 2),
                   unannounced_after_worker=unannounced, alerts_expected=low, alerts_sent=len(inbox.messages))
    assert (pending_after_worker, unannounced) == (0, 0)
    assert len(inbox.messages) == low
    assert {m["To"] for m in inbox.messages} == {"lea@example.com"}
