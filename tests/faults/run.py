"""Run every fault scenario and write their figures into docs/performance.md between the ``faults`` markers.

    python -m tests.faults.run            # all four scenarios, both backends where they apply
    python -m tests.faults.run --no-write # only print the section
    python -m tests.faults.run --from-last-run  # rewrite the section from the last run's figures

Scenarios 1 and 2 start private Redis and PostgreSQL servers (tests/faults/servers.py); scenario 3 is the
appraisal crash test (tests/appraisal/test_crash.py); scenario 4 runs in the normal suite too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import click

from .conftest import FIGURES

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- faults:start -->", "<!-- faults:end -->"
COMMAND = "python -m tests.faults.run"
TESTS = ["tests/faults", "tests/appraisal/test_crash.py"]


def run_tests(junit: Path) -> int:
    """Run the fault tests (and the crash test) in pytest; return its exit status."""
    for old in FIGURES.glob("*.json"):
        old.unlink()
    command = [sys.executable, "-m", "pytest", *TESTS, "-p", "no:cacheprovider", "-q", f"--junitxml={junit}"]
    return subprocess.run(command, check=False, cwd=ROOT, env={**os.environ, "FAULT_TESTS": "1"}).returncode


def outcomes(junit: Path) -> dict[str, tuple[str, float]]:
    """Each test's outcome and seconds, by its name with parameters."""
    found = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "FAILED", "error": "ERROR", "skipped": "skipped"}[tag]
                if tag == "skipped" and element.get("type") == "pytest.xfail":
                    outcome = "xfail: the bug is still there"
        found[case.get("name")] = (outcome, float(case.get("time") or 0))
    return found


def _commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "core", "web", "channels", "plugins",
                            "appraisal", "tests/faults"], check=False, cwd=ROOT, capture_output=True, text=True).stdout
    return head.stdout.strip() + (" with uncommitted changes" if dirty.strip() else "")


def _figures() -> dict[tuple[str, str], dict]:
    return {(f["scenario"], f["backend"]): f
            for f in (json.loads(p.read_text()) for p in sorted(FIGURES.glob("*.json")))}


def _status(results: dict, prefix: str) -> str:
    runs = {name: outcome for name, outcome in results.items() if name.startswith(prefix)}
    if not runs:
        return "Result: not run."
    return "Result: " + ", ".join(f"{(name.partition('[')[2].rstrip(']') + ': ') if '[' in name else ''}"
                                  f"{outcome} ({seconds:.1f} s)"
                     for name, (outcome, seconds) in sorted(runs.items())) + "."


def render(results: dict, figures: dict, measured: datetime, commit: str) -> str:
    """The section of docs/performance.md, markers included."""
    when = measured.strftime("%Y-%m-%d %H:%M UTC")
    lines = [START, "", "## Faults", "",
             (f"Measured {when}, code at commit {commit}. Command: `{COMMAND}` (about three minutes; it "
              "starts Redis and PostgreSQL servers of its own and never touches the machine's shared ones). The "
              "same tests run with `FAULT_TESTS=1 pytest tests/faults tests/appraisal/test_crash.py`; the normal "
              "suite runs scenario 4 and `test_lost_jobs.py` and skips the slow ones."), ""]

    lines += ["### 1. Redis killed mid-load", "",
              "`tests/faults/test_redis_down.py`: four clients post CSAT answers through `POST /api/v1/channels/"
              "post_ticket_survey/feedback` (one in five a 1, which alerts the agent's manager by e-mail). A private "
              "`redis-server` (no persistence) is killed after 150 acknowledgements and started again, empty, after "
              "300; then one real `plaudit worker --burst` runs. " + _status(results, "test_redis_killed"), "",
              ("| backend | sent | acknowledged | stored | errors | acknowledged while Redis was down | Redis down "
              "| outbox rows after the load | drained by the worker in | outbox rows after | items not announced "
              "| alerts sent / expected |"),
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for backend in ("sqlite", "postgresql"):
        f = figures.get(("redis", backend))
        if f:
            lines.append(f"| {backend} | {f['sent']} | {f['acknowledged']} | {f['stored']} | {f['errors']} | "
                         f"{f['acknowledged_while_down']} | {f['redis_down_seconds']} s | {f['outbox_after_load']} | "
                         f"{f['drain_seconds']} s | {f['outbox_after_worker']} | {f['unannounced_after_worker']} | "
                         f"{f['alerts_sent']} / {f['alerts_expected']} |")
    lines += ["", ("The outbox rows after the load are the jobs Redis lost when it died (handed over, never run) "
              "and those it could not be given while down. The worker drains both at start "
              "(`core.jobs.dispatch_pending` hands over again a leased row whose RQ job Redis no longer has; before "
               "this fix, found by this test, the 150 lost jobs waited out their one-hour lease). "
               "`tests/faults/test_lost_jobs.py`, in the normal suite, shows the fix: only the job Redis lost is "
               "handed over again. The drain time is the forking RQ worker's pace, about 10 jobs a second "
               "(announcements and alert e-mails)."), ""]

    lines += ["### 2. PostgreSQL restarted", "",
              "`tests/faults/test_postgres_restart.py`: a private cluster (initdb, pg_ctl on a free port) is "
              "stopped (`pg_ctl -m fast`) after 120 acknowledgements while four clients post answers, kept down "
              "3 s and started again; the app is never restarted. A client told 503 sends the same answer again, "
              "as `Retry-After` asks. During the outage a signed-in user's page and `/healthz` answer 503 too (the "
              "page in HTML, naming no host); before the fix this test found, the page was a bare 500, because the "
              "error page loaded the signed-in user from the database again (`web._database_unavailable` now draws "
              "it for nobody; `tests/faults/test_database_down_page.py`, in the normal suite, shows it). " + _status(results, "test_postgres_restart"), ""]
    f = figures.get(("postgres", "postgresql"))
    if f:
        lines += [("| sent | requests | acknowledged | stored | 503 (JSON, Retry-After) | other errors "
                  "| acknowledged as a duplicate | down | first success after the restart | 503 after the restart "
                  "| items waiting for their announcement | outbox rows, items not announced after a later sweep |"),
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
                  (f"| {f['sent']} | {f['requests']} | {f['acknowledged']} | {f['stored']} | {f['unavailable_503']} | "
                  f"{f['other_errors']} | {f['acknowledged_as_duplicate']} | {f['down_seconds']} s | "
                  f"{f['recovered_seconds']} s | {f['refused_after_back']} | {f['unannounced_waiting_in_outbox']} | "
                   f"{f['outbox_after_sweep']}, {f['unannounced_after_sweep']} |"),
                  "", ("Every answer is stored exactly once (the response id is the key); an answer acknowledged as "
                  "a duplicate is one whose commit reached the server just before it stopped, so its client saw a "
                  "503 and sent it again. Every stored answer was either announced or has its announcement in the "
                  "outbox: nothing half-written. An item waiting had its announcement (run inline, without Redis) cut "
                   "off by the stop; a later dispatch, once the row's lease is out, runs it (the test moves the "
                   "clock), leaving nothing behind."), ""]

    lines += ["### 3. A worker SIGKILLed mid-job", "",
              "`tests/appraisal/test_crash.py` (issue 4): the RQ work-horse computing an appraisal run is "
              "SIGKILLed in the middle of writing its results. No partial result rows remain, the run stays "
              "`running`, its outbox row survives; once the row's lease (`core.jobs.QUEUE_LEASE`, 1 h; the test "
              "moves the clock) runs out, the next dispatch hands it over again and the retried run completes "
              "(attempts 2) with results equal to an undisturbed run. " + _status(results, "test_a_worker_killed"),
              ""]

    lines += ["### 4. A webhook delivered three times, out of order", "",
              ("`tests/faults/test_webhook_replays.py` (in the normal suite), with the real Zendesk shapes of "
               "`zenpy_spec_ticket.json` and `zenpy_spec_satisfaction_rating.json`:"), "",
              ("- the same rating delivered three times: one item. "
               + _status(results, "test_a_rating_delivered_three_times")),
              ("- a ticket in three states (new with one agent, open with another, solved), delivered newest "
               "first, then the oldest, then the middle one: one ticket, `solved`, with the last assignee and the "
               "assignment history in time order. An older snapshot still adds its timings and its place in the "
               "history, but no longer turns back status, subject, category or channel (`tickets.observed_at`; "
               "this test found that it did). " + _status(results, "test_three_deliveries")),
              ("- a rating the customer changed (good, then bad an hour later), delivered good, bad, good: one "
               "item, in its latest state (bad, with the customer's comment). A newer answer to a stored rating "
               "replaces it, audited; an older or identical delivery changes nothing (this test found that the "
               "first state delivered was kept). " + _status(results, "test_a_changed_rating")), "", END]
    return "\n".join(lines)


def write(doc: Path, section: str) -> None:
    """Put ``section`` between the ``faults`` markers of ``doc``, or append it; the rest stays as it is."""
    text = doc.read_text(encoding="utf-8")
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")


@click.command()
@click.option("--write/--no-write", "write_doc", default=True, show_default=True,
              help="write the figures into docs/performance.md between the faults markers")
@click.option("--doc", type=click.Path(dir_okay=False, path_type=Path), default=ROOT / "docs" / "performance.md",
              show_default="docs/performance.md")
@click.option("--from-last-run", is_flag=True, help="write the section from the last run's figures, running nothing")
def main(write_doc: bool, doc: Path, from_last_run: bool) -> None:
    """Run the fault scenarios and report what each one lost (nothing, is the goal)."""
    junit = FIGURES.parent / "faults-junit.xml"
    FIGURES.mkdir(parents=True, exist_ok=True)
    commit_file = FIGURES.parent / "faults-commit.txt"
    if not from_last_run:
        commit_file.write_text(_commit())
    status = 0 if from_last_run else run_tests(junit)
    section = render(outcomes(junit), _figures(), datetime.fromtimestamp(junit.stat().st_mtime, UTC),
                     commit_file.read_text() if commit_file.exists() else _commit())
    click.echo(section)
    if write_doc:
        write(doc, section)
        click.echo(f"figures written to {doc}")
    sys.exit(status)


if __name__ == "__main__":
    main()
