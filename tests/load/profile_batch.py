"""Where a batch API item's time goes: the load test's batches posted in-process, each step of ingestion timed.

    python -m tests.load.profile_batch --items 20000

Creates ``plaudit_load_profile_<pid>`` on the shared PostgreSQL, migrates it, seeds the load test's agents and
API token with the real commands, starts a private Redis for the outbox, then posts the responses of
:func:`tests.load.bulk.payloads` to ``POST /api/v1/channels/post_ticket_survey/feedback/batch`` through Flask's
test client, one batch after another. The steps of ``core.ingestion`` and each integrity check are wrapped in
timers from outside, and the time per item of each is printed (wall clock, and this process's CPU: the
difference is mostly waiting for PostgreSQL). The steps nest: ``ingest`` holds all but the commit and the
answer, ``inspect`` holds the checks. Run it under the bench lock, like the load test; it drops its database.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import click

from . import bulk, seed, stack

#: (module, attribute, label): the steps timed, in the order they run.
STEPS = (
    ("core.ingestion", "_normalise", "validate and normalise (marshmallow, to_feedback, contract)"),
    ("core.ingestion", "attribute", "attribute"),
    ("core.ingestion", "respondent_ref", "hash respondents"),
    ("core.ingestion", "link_tickets", "link tickets"),
    ("core.ingestion", "_insert_postgresql", "INSERT ... RETURNING, loaded as Feedback"),
    ("core.ingestion", "_inspect", "integrity checks, flags and audit"),
    ("web.api.channels", "ingest", "ingest (all of the above and the report)"),
    ("sqlalchemy.orm", "Session.commit", "commit (flags, audit, outbox row; COMMIT)"),
    ("web.api.channels", "jsonify", "answer as JSON"),
)


class Timers:
    """Wall and CPU seconds per step, summed over every call."""

    def __init__(self):
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - wall
                self.cpu[label] += time.process_time() - cpu

        setattr(owner, name, timed)


def _owner(module: str, attribute: str):
    import importlib

    owner = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name


@contextmanager
def _stack(work: Path):
    """A migrated database of its own and a private Redis; dropped and stopped afterwards."""
    name = f"plaudit_load_profile_{os.getpid()}"
    redis = None
    try:
        url = stack.create_database(name)
        port = stack.free_port()
        redis = stack.start_redis(port)
        environment = stack.stack_environment(url, f"redis://127.0.0.1:{port}/0", work / "instance")
        stack.plaudit(environment, "db", "upgrade")
        yield environment
    finally:
        stack.stop(redis)
        stack.drop_database(name)


@click.command()
@click.option("--items", default=20000, show_default=True, type=click.IntRange(min=1000),
              help="survey responses posted, in batches of 1,000")
def main(items):
    """Post the load test's batches in-process and print each ingestion step's time per item."""
    from core.app import create_app

    work = Path(tempfile.mkdtemp(prefix="plaudit-profile-"))
    try:
        with _stack(work) as environment:
            seed.seed_org(environment)
            token = bulk.api_token(environment)
            app = seed._app(environment, create_app)
            timers = Timers()
            for module, attribute, label in STEPS:
                timers.wrap(*_owner(module, attribute), label)
            for slug, check in app.extensions["plaudit.plugins"].integrity_checks.items():
                timers.wrap(check, "inspect", f"  check {slug}")
            client = app.test_client()
            payloads = bulk.payloads(items)
            started, cpu = time.perf_counter(), time.process_time()
            for start in range(0, items, bulk.BATCH):
                response = client.post(bulk.PATH, data=json.dumps(payloads[start:start + bulk.BATCH]), headers={
                    "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                if response.status_code != 201:
                    raise SystemExit(f"batch at {start}: {response.status_code} {response.get_data(as_text=True)}")
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{items:,} items in {seconds:.2f} s: {items / seconds:,.0f} items/s, "
          f"{seconds / items * 1e6:.0f} µs an item ({cpu / items * 1e6:.0f} µs of this process's CPU)")
    print(f"{'step':62} {'µs/item':>8} {'CPU':>6}")
    for label in [label for *_, label in STEPS] + sorted(label for label in timers.wall if label.startswith(" ")):
        if label in timers.wall:
            print(f"{label:62} {timers.wall[label] / items * 1e6:8.1f} {timers.cpu[label] / items * 1e6:6.1f}")


if __name__ == "__main__":
    main()
