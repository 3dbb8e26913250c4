"""Load test: the Procfile's stack under 60 s of webhook deliveries and survey answers from wrk.

    python -m tests.load.run --seconds 60

Creates ``plaudit_load_<pid>`` on the shared PostgreSQL (127.0.0.1:5432) and migrates it with
``plaudit db upgrade``, starts a private Redis and the repository's Procfile under honcho, seeds an org with a
generic webhook integration and survey invitations, then runs two wrk processes at once (webhooks, survey
form POSTs). It waits for the queue to drain, counts what was stored against what was acknowledged, times a
raw bulk INSERT of the same feedback rows, sends survey responses through the batch API (one request at a time,
then one client per web process at once) and times a raw INSERT of each run's rows, writes docs/performance.md
between its ``load`` markers, and drops the database. docs/performance.md ("Load") says what each figure means.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import psycopg

from . import baseline, bulk, report, seed, stack

SCRIPT = Path(__file__).with_name("requests.lua")
RESULT = re.compile(r"^LOAD_RESULT (\{.*\})$", re.MULTILINE)


def _wrk(url: str, file: Path, content_type: str, seconds: int, threads: int, connections: int
         ) -> subprocess.Popen:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("the load test drives the stack with wrk: apt-get install -y wrk")
    return subprocess.Popen([wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s",
                             "-s", str(SCRIPT), url, "--", str(file), content_type, str(threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stored(conn: psycopg.Connection) -> dict:
    """Items stored so far, and the follow-up work still waiting, in one statement."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM feedback WHERE external_id LIKE %(ns)s),"
        " (SELECT count(*) FROM feedback WHERE channel = 'post_ticket_survey'"
        "   AND external_id LIKE 'pts-invitation-%%'),"
        " (SELECT count(*) FROM feedback), (SELECT count(*) FROM pending_jobs)",
        {"ns": f"{seed.NAMESPACE}:rating:%"}).fetchone()
    return dict(zip(("ratings", "answers", "feedback", "pending_jobs"), row))


def drive(url: str, webhooks: Path, surveys: Path, seconds: int, conn: psycopg.Connection, connections: int
          ) -> dict:
    """Run both wrk processes for ``seconds``, printing one progress line a second; return their results."""
    started = time.monotonic()
    runs = {"webhook": _wrk(url, webhooks, "application/json", seconds, 1, connections),
            "survey": _wrk(url, surveys, "application/x-www-form-urlencoded", seconds, 1, connections)}
    last = _stored(conn)
    tty = sys.stdout.isatty()  # one line rewritten in a terminal, a line a second in a log
    while any(process.poll() is None for process in runs.values()):
        time.sleep(1)
        now = _stored(conn)
        elapsed = time.monotonic() - started
        bar = "#" * int(30 * min(elapsed, seconds) / seconds)
        print(f"{chr(13) if tty else ''}[{bar:<30}] {elapsed:3.0f}/{seconds} s"
              f"  ratings {now['ratings']:>6} (+{now['ratings'] - last['ratings']}/s)"
              f"  answers {now['answers']:>6} (+{now['answers'] - last['answers']}/s)"
              f"  pending jobs {now['pending_jobs']:>5}", end="" if tty else "\n", flush=True)
        last = now
    print()
    results = {}
    for name, process in runs.items():
        output = process.stdout.read()
        found = RESULT.search(output)
        if process.returncode or not found:
            raise SystemExit(f"wrk ({name}) failed ({process.returncode}):\n{output}")
        results[name] = json.loads(found.group(1))
    return results


def drain(conn: psycopg.Connection, timeout: float) -> float:
    """Wait until the outbox is empty (every job handed over and done); return the seconds it took."""
    started = time.monotonic()
    while conn.execute("SELECT count(*) FROM pending_jobs").fetchone()[0]:
        if time.monotonic() - started > timeout:
            raise SystemExit(f"the queue did not drain within {timeout:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - started


@click.command()
@click.option("--seconds", default=60, show_default=True, type=click.IntRange(min=5), help="how long wrk drives")
@click.option("--connections", default=4, show_default=True, type=click.IntRange(min=1),
              help="concurrent connections of each wrk (webhooks, surveys): the bound on the load")
@click.option("--web-processes", default=4, show_default=True, type=click.IntRange(min=1),
              help="gunicorn workers (WEB_CONCURRENCY)")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1), help="plaudit worker processes")
@click.option("--items", default=10000, show_default=True, type=click.IntRange(min=100),
              help="webhook deliveries and survey invitations prepared (each sent once)")
@click.option("--bulk-items", default=20000, show_default=True, type=click.IntRange(min=1000),
              help="survey responses sent through the batch API after the load, against a raw INSERT: this many "
                   "one request at a time, then this many more from one client per web process")
@click.option("--write/--no-write", default=True, show_default=True,
              help="write the figures into docs/performance.md between its load markers")
@click.option("--keep-database", is_flag=True, help="leave plaudit_load_<pid> behind to look at")
def main(seconds, connections, web_processes, workers, items, bulk_items, write, keep_database):
    """Run the Procfile's stack under load and report errors, acknowledged vs stored, latency, throughput."""
    name = f"plaudit_load_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="plaudit-load-"))
    redis = honcho = None
    try:
        database_url = stack.create_database(name)
        redis_port, web_port = stack.free_port(), stack.free_port()
        redis = stack.start_redis(redis_port)
        environment = stack.stack_environment(database_url, f"redis://127.0.0.1:{redis_port}/0", work / "instance")
        print(f"database {name}: plaudit db upgrade", flush=True)
        stack.plaudit(environment, "db", "upgrade")
        print(f"seeding: {seed.AGENTS} agents, a generic integration, {items} survey invitations", flush=True)
        path, secret = seed.seed_org(environment)
        token = bulk.api_token(environment)
        links = seed.seed_invitations(environment, items)
        webhooks = seed.write_lines(seed.webhook_requests(path, secret, items), work / "webhooks.txt")
        surveys = seed.write_lines(seed.survey_requests(links), work / "surveys.txt")
        print(f"starting the Procfile: web ({web_processes} gunicorn workers), worker x{workers}, cron", flush=True)
        honcho = stack.start_procfile(environment, web_port, web_processes, workers, work / "procfile.log")
        with psycopg.connect(database_url, autocommit=True) as conn:
            started_at = datetime.now(UTC)
            results = drive(f"http://127.0.0.1:{web_port}", webhooks, surveys, seconds, conn, connections)
            drained = drain(conn, 300)
            stored = _stored(conn)
            raw = baseline.measure(conn)
            print(f"batch API: {bulk_items} survey responses in batches of {bulk.BATCH}", flush=True)
            batch = bulk.send(f"http://127.0.0.1:{web_port}", token, bulk.payloads(bulk_items))
            batch["drained_seconds"] = drain(conn, 300)
            batch_raw = baseline.measure(conn, f"{bulk.PREFIX}:bulk:%")
            print(f"batch API: {bulk_items} more survey responses from {web_processes} clients at once", flush=True)
            concurrent = bulk.send(f"http://127.0.0.1:{web_port}", token,
                                   bulk.payloads(bulk_items, seed=10, run="bulkc"), clients=web_processes)
            concurrent["drained_seconds"] = drain(conn, 300)
            concurrent_raw = baseline.measure(conn, f"{bulk.PREFIX}:bulkc:%")
            facts = report.facts(conn)
        stack.stop(honcho)
        figures = report.figures(results, stored, raw, {"one": (batch, batch_raw),
                                                        "concurrent": (concurrent, concurrent_raw)},
                                 drained, started_at, facts,
                                 {"seconds": seconds, "connections": connections, "web_processes": web_processes,
                                  "workers": workers})
        print(report.markdown(figures))
        if write:
            report.write(figures)
            print("written to docs/performance.md")
        failed = report.goals_failed(figures)
        if failed:
            print("goals not met: " + "; ".join(failed), file=sys.stderr)
    finally:
        stack.stop(honcho)
        stack.stop(redis)
        if not keep_database:
            stack.drop_database(name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
