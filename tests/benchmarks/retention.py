"""How fast payload retention and a customer's erasure run on PostgreSQL.

Run ``python -m tests.benchmarks.retention [--items 100000]``: it makes a database of its own on the
PostgreSQL server (PLAUDIT_TEST_POSTGRES_URL, else 127.0.0.1:5432), migrates it, stores ``--items`` survey
answers spread over two years in one bulk INSERT, then times the retention purge (365 days), a second purge
that should find nothing, and one customer's erasure; the figures go into ``docs/performance.md`` between
its markers. The database is dropped afterwards.
"""
from __future__ import annotations

import os
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from . import report

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- retention:start -->", "<!-- retention:end -->"
SALT = "benchmark-salt-" + "x" * 32
CUSTOMER = "erase.me@example.com"


def _seed(session, items: int, now: datetime) -> None:
    from sqlalchemy import insert

    from core.ingestion import respondent_ref
    from core.models import Feedback

    rng = random.Random(5)
    rows = [{"channel": "post_ticket_survey", "kind": "csat", "external_id": f"bench:{n}",
             "occurred_at": now - timedelta(days=rng.uniform(0, 730)), "received_at": now,
             "value": float(rng.randint(1, 5)), "scale_min": 1.0, "scale_max": 5.0,
             "comment": "Thanks, sorted quickly" if n % 3 else None,
             "respondent_ref": respondent_ref(CUSTOMER if n < 5 else f"c{n}@example.com", SALT),
             "status": "accepted",
             "payload": {"response_id": f"bench:{n}", "rating": 4, "comment": "Thanks", "email": f"c{n}@example.com",
                         "user_agent": "Mozilla/5.0", "category": "billing"}}
            for n in range(items)]
    for start in range(0, items, 10_000):
        session.execute(insert(Feedback), rows[start:start + 10_000])


def measure(items: int) -> dict:
    from core.app import create_app
    from core.db import transaction
    from core.migrate import upgrade
    from core.privacy import erase_customer
    from core.retention import (
        count_expired_payloads,
        purge_expired_payloads,
        retention_cutoff,
    )
    from tests.fixtures.app import create_postgres_database, drop_postgres_database
    from tests.fixtures.services import POSTGRES_URL

    server = POSTGRES_URL
    name = f"plaudit_retention_{os.getpid()}"
    url = create_postgres_database(server, name)
    try:
        upgrade(url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "k" * 32, "RESPONDENT_SALT": SALT,
                          "LOG_LEVEL": "WARNING", "INSTANCE_PATH": f"/tmp/{name}"})
        now = datetime.now(UTC)
        cutoff = retention_cutoff(365, now)
        with app.app_context():
            with transaction() as session:
                _seed(session, items, now)
            with transaction() as session:
                due = count_expired_payloads(session, cutoff)
            with click.progressbar(length=due, label="stripping expired payloads") as bar:
                started = time.perf_counter()
                stripped = purge_expired_payloads(cutoff, progress=bar.update)
                first = time.perf_counter() - started
            started = time.perf_counter()
            again = purge_expired_payloads(cutoff)
            second = time.perf_counter() - started
            started = time.perf_counter()
            with transaction() as session:
                erased = erase_customer(session, [CUSTOMER])
            erasure = time.perf_counter() - started
        with app.app_context():
            from core.db import get_db

            version = get_db().engine.connect().exec_driver_sql("SHOW server_version").scalar()
            get_db().engine.dispose()
    finally:
        drop_postgres_database(server, name)
    return {"items": items, "due": due, "stripped": stripped, "first": first, "again": again, "second": second,
            "erased": sum(erased.items.values()),
            "erasure": erasure, "postgres": version}


def section(r: dict) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        START, "## Payload retention and erasure", "",
        (f"Measured {when} on {platform.processor() or platform.machine()} ({os.cpu_count()} CPUs), PostgreSQL "
        f"{r['postgres']}, Python {platform.python_version()}. Run `python -m tests.benchmarks.retention` to "
        "measure again ([customers' data](privacy.md))."), "",
        ("| items stored | past 365 days | stripped | first purge | items a second | second purge | "
        "one customer's erasure |"),
        "|---:|---:|---:|---:|---:|---:|---:|",
        (f"| {r['items']:,} | {r['due']:,} | {r['stripped']:,} | {r['first']:.2f} s | "
        f"{r['stripped'] / r['first']:,.0f} | {r['again']} stripped in {r['second']:.2f} s | "
        f"{r['erasure'] * 1000:.0f} ms |"), "",
        ("The purge works in batches of 1,000, each its own transaction of two statements; the second run "
        "finds nothing left to strip. The erasure looks the customer up by the salted hash of their e-mail "
        f"({r['erased']} of the answers are theirs)."), END])


@click.command()
@click.option("--items", default=100_000, show_default=True, help="survey answers to store")
@click.option("--write/--no-write", default=True, show_default=True,
              help="write the results into docs/performance.md between its markers")
def main(items: int, write: bool) -> None:
    figures = measure(items)
    text = section(figures)
    click.echo(text)
    if write:
        doc = DOC.read_text(encoding="utf-8") if DOC.exists() else report.INTRO
        if START in doc and END in doc:
            before, rest = doc.split(START, 1)
            doc = before + text + rest.split(END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n" + text + "\n"
        DOC.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
