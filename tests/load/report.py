"""The load test's figures: computed from wrk's results and the database's counts, written as Markdown into
docs/performance.md between ``<!-- load:start -->`` and ``<!-- load:end -->`` (re-read right before writing,
so the page's other sections, written by other benchmarks, stay as they are)."""
from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime
from pathlib import Path

import psycopg

from .stack import ROOT

DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- load:start -->", "<!-- load:end -->"
COMMAND = "python -m tests.load.run --seconds 60"
#: The issue's goal: the API at most this many times slower than a raw bulk INSERT of the same rows.
RATIO_GOAL = 2


def facts(conn: psycopg.Connection) -> dict:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "system": platform.platform(terse=True),
            "python": platform.python_version(),
            "postgres": conn.execute("SELECT version()").fetchone()[0].split(" on ")[0], "commit": _commit()}


def _commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "core", "web",
                                "channels", "plugins", "appraisal", "Procfile", "tests/load"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return commit + (" with uncommitted changes" if dirty else "")


def figures(results: dict, stored: dict, raw: dict, batches: dict, drained: float, started_at: datetime,
            machine: dict, setup: dict) -> dict:
    """Everything the page shows, from the measurements.

    :param batches: the batch API's runs, ``one`` (a request at a time) and ``concurrent`` (a client per web
        process), each as (what :func:`tests.load.bulk.send` answered, :func:`tests.load.baseline.measure` of
        its rows).
    """
    endpoints = {}
    for name, stored_items in (("webhook", stored["ratings"]), ("survey", stored["answers"])):
        result = results[name]
        seconds = result["duration_us"] / 1e6
        endpoints[name] = {
            "requests": result["requests"], "per_second": result["requests"] / seconds,
            "errors": result["client_errors"] + result["server_errors"] + result["socket_errors"]
            + result["timeouts"],
            "server_errors": result["server_errors"], "wrapped": result["wrapped"],
            "acknowledged": result["acked"], "stored": stored_items,
            # written but not answered when wrk stopped: the server may have stored them, unacknowledged
            "in_flight": result["sent"] - result["requests"],
            "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000, "max_ms": result["max_us"] / 1000,
        }
    seconds = max(r["duration_us"] for r in results.values()) / 1e6
    api_rows_per_second = stored["feedback"] / seconds
    raw_rows_per_second = raw["rows"] / raw["executemany_seconds"]
    copy_rows_per_second = raw["rows"] / raw["copy_seconds"]
    return {"date": started_at.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine, "setup": setup,
            "endpoints": endpoints, "drained_seconds": drained, "feedback_rows": stored["feedback"],
            "load_seconds": seconds, "api_rows_per_second": api_rows_per_second,
            "raw_rows_per_second": raw_rows_per_second, "copy_rows_per_second": copy_rows_per_second,
            "ratio": raw_rows_per_second / api_rows_per_second if api_rows_per_second else float("inf"),
            "copy_ratio": copy_rows_per_second / api_rows_per_second if api_rows_per_second else float("inf"),
            "batch": _batch(*batches["one"]), "concurrent": _batch(*batches["concurrent"])}


def _batch(sent: dict, raw: dict) -> dict:
    """A batch API run against the raw INSERTs of the rows it stored."""
    return {**sent, "stored": raw["rows"], "rows_per_second": raw["rows"] / sent["seconds"],
            "raw_rows_per_second": raw["rows"] / raw["executemany_seconds"],
            "copy_rows_per_second": raw["rows"] / raw["copy_seconds"],
            "ratio": sent["seconds"] / raw["executemany_seconds"], "copy_ratio": sent["seconds"] / raw["copy_seconds"]}


def accounted(e: dict) -> bool:
    """Every acknowledged item stored, and nothing else stored but what was still in flight at the end."""
    return e["acknowledged"] <= e["stored"] <= e["acknowledged"] + e["in_flight"]


def goals_failed(figures: dict) -> list[str]:
    failed = []
    for name, e in figures["endpoints"].items():
        if e["errors"]:
            failed.append(f"{name}: {e['errors']} errors")
        if not accounted(e):
            failed.append(f"{name}: {e['acknowledged']} acknowledged but {e['stored']} stored "
                          f"({e['in_flight']} in flight at the end)")
        if e["wrapped"]:
            failed.append(f"{name}: ran out of prepared items (raise --items)")
    for b in (figures["batch"], figures["concurrent"]):
        if b["errors"] or b["acknowledged"] != b["stored"]:
            failed.append(f"{_run(b)}: {b['errors']} errors, {b['acknowledged']} acknowledged, {b['stored']} stored")
    if figures["ratio"] > RATIO_GOAL:
        failed.append(f"webhook ingestion {figures['ratio']:.0f}x slower than a raw INSERT of its rows "
                      f"(goal at most {RATIO_GOAL}x)")
    for b in (figures["batch"], figures["concurrent"]):
        if b["ratio"] > RATIO_GOAL:
            failed.append(f"{_run(b)} {b['ratio']:.1f}x slower than a raw INSERT of its rows (goal at most {RATIO_GOAL}x)")
    return failed


def goals_met(figures: dict) -> list[str]:
    """The throughput figures that meet the goal, said as plainly as those that miss it."""
    return [f"{_run(b)} {b['ratio']:.1f}x a raw INSERT of its rows (goal at most {RATIO_GOAL}x)"
            for b in (figures["batch"], figures["concurrent"]) if b["ratio"] <= RATIO_GOAL]


def _run(b: dict) -> str:
    if b.get("clients", 1) == 1:
        return "batch API ingestion, one request at a time,"
    return f"batch API ingestion from {b['clients']} clients at once"


def markdown(f: dict) -> str:
    m, s, b, c = f["machine"], f["setup"], f["batch"], f["concurrent"]
    rows = "\n".join(
        f"| {title} | {e['requests']:,} | {e['per_second']:.1f} | {e['errors']:,} | {e['acknowledged']:,} | "
        f"{e['in_flight']:,} | {e['stored']:,} | {'yes' if accounted(e) else '**no**'} | {e['p50_ms']:.0f} ms | "
        f"{e['p99_ms']:.0f} ms |"
        for title, e in (("helpdesk webhook (a new solved ticket and its rating)", f["endpoints"]["webhook"]),
                         ("survey form POST (one invitation's answer)", f["endpoints"]["survey"])))
    failed, met = goals_failed(f), goals_met(f)
    verdict = ("Every goal is met." if not failed else
               "**Goals not met:** " + "; ".join(failed) + ".")
    if failed and met:
        verdict += "\n\n**Goal met:** " + "; ".join(met) + "."
    return f"""## Load

The stack of the repository's `Procfile` (docs/deploy.md) on one machine under {s['seconds']} s of bounded
load from wrk on 127.0.0.1: helpdesk webhooks (the generic format, each body signed with HMAC-SHA256, each a
new solved ticket with one rating) and survey form POSTs (each answering an invitation of its own) at the
same time, {s['connections']} connections each. Web: gunicorn with {s['web_processes']} workers; {s['workers']}
`plaudit worker` processes; one `plaudit cron`; PostgreSQL on the same machine in a database of the run's
own, migrated with `plaudit db upgrade`; a private Redis.

Measured {f['date']} at {m['commit']} on {m['cpu']} ({m['cpus']} CPUs, shared with wrk and PostgreSQL),
{m['system']}, Python {m['python']}, {m['postgres']}. Run `{COMMAND}` to measure again
(`--help` for the options; it needs `apt-get install -y wrk redis-server` and `pip install -e '.[deploy]'`).

| endpoint | requests answered | per second | errors | acknowledged | in flight at the end | stored | all accounted for | p50 | p99 |
|---|---:|---:|---:|---:|---:|---:|---|---:|---:|
{rows}

- **Errors** are non-2xx answers, socket errors and timeouts. **Acknowledged** items are counted from wrk's
  answers (a webhook's `ratings.created`, a survey's thank-you page); **stored** ones in the database after
  the queue drained ({f['drained_seconds']:.1f} s after the load ended). When wrk stops it drops the
  connections whose requests are **in flight** (sent, not yet answered): the server finishes and stores them,
  but nobody reads the acknowledgement. So **all accounted for** means acknowledged ≤ stored ≤ acknowledged +
  in flight: nothing acknowledged is missing and nothing was stored that was not sent.
- **API ingestion throughput**, against a raw bulk INSERT of the same rows into the same table in one
  transaction (psycopg `executemany`, and `COPY`; rolled back):

| ingestion | rows stored | API rows/s | raw `executemany` rows/s | raw `COPY` rows/s | API slower than `executemany` | than `COPY` |
|---|---:|---:|---:|---:|---:|---:|
| the load above: webhooks and survey answers, one item per request | {f['feedback_rows']:,} | {f['api_rows_per_second']:,.0f} | {f['raw_rows_per_second']:,.0f} | {f['copy_rows_per_second']:,.0f} | **{f['ratio']:.0f}x** | {f['copy_ratio']:.0f}x |
| `POST /api/v1/channels/post_ticket_survey/feedback/batch`, {1000:,} responses a request, one request at a time | {b['stored']:,} | {b['rows_per_second']:,.0f} | {b['raw_rows_per_second']:,.0f} | {b['copy_rows_per_second']:,.0f} | **{b['ratio']:.1f}x** | {b['copy_ratio']:.1f}x |
| the same, from {c['clients']} clients at once (one per web process) | {c['stored']:,} | {c['rows_per_second']:,.0f} | {c['raw_rows_per_second']:,.0f} | {c['copy_rows_per_second']:,.0f} | **{c['ratio']:.1f}x** | {c['copy_ratio']:.1f}x |

  The goal is at most {RATIO_GOAL}x. The load's rows include the two ticket timings each webhook's solved
  ticket adds; they are counted over the {f['load_seconds']:.0f} s of load. The batch API runs came after the
  load: one sent {b['items']:,} responses a request at a time ({b['errors']} errors, {b['acknowledged']:,}
  acknowledged as created, {b['stored']:,} stored), then {c['clients']} clients sent {c['items']:,} more at once,
  each its share of the batches one after another ({c['errors']} errors, {c['acknowledged']:,} acknowledged,
  {c['stored']:,} stored); each is timed from the first request until the last batch was acknowledged. The raw
  INSERT is one connection in both; the {c['clients']} clients share the machine's {m['cpus']} CPUs with the
  web processes and PostgreSQL.

{verdict}

What the ratios mean: each webhook request is one HTTP round trip that verifies a signature, parses and
validates the delivery, upserts the ticket and its assignment, creates a survey invitation, attributes the
rating and writes its follow-up job to the outbox, all in its own transaction, committed before the answer;
a survey answer likewise. Against a bulk INSERT that amortises one transaction over every row, one item per
request cannot come near 2x; the batch API, which validates, attributes and stores a thousand responses per
request and transaction, is the ingestion path to hold to that goal. Where a batch item's time goes is shown by
`python -m tests.load.profile_batch`, which posts the same batches in-process and times each step of
ingestion: the largest share is the INSERT itself (the index and foreign-key work the raw INSERT does too, the
rows read back as `Feedback` objects for the integrity checks), then validating each response with
marshmallow; the checks, attribution, hashing, the commit and the answer take the rest. One request at a time
leaves a CPU idle while PostgreSQL or Python waits on the other; concurrent clients use both. The follow-up job
each batch queues (`announce_feedback`, which fires `feedback_ingested` for its items) runs on a worker on the
same CPUs meanwhile: about 34 µs of the worker's CPU per item, since it pauses the cyclic collector and marks
its items with one array parameter (88 µs before, 2026-11-27: the batches were 4.6x and 3.7x that day before
the change, 4.3x and 2.9x after it, on a machine whose raw INSERT was slower than above).
"""


def write(figures: dict, doc: Path = DOC) -> None:
    """Replace what is between the load markers (appending them at the end the first time)."""
    section = f"{START}\n{markdown(figures).rstrip()}\n{END}"
    text = doc.read_text(encoding="utf-8")
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
