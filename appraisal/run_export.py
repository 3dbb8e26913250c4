"""A run's results as HR scripts read them (``plaudit appraise``, ``plaudit appraisal show``): a table, CSV or JSON."""
from __future__ import annotations

import csv
import json
import sys
from datetime import timedelta

import click

from core.spreadsheet import inert

from .models import AppraisalRun
from .periods import days_of, period_of
from .results import run_rows


def _number(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _json_value(value) -> str:
    """Times in ISO 8601, as the API writes them (``str`` gave ``2026-11-26 22:08:15.05+00:00``)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def print_run(session, run: AppraisalRun, output: str) -> None:
    """Print ``run``'s results on standard output as ``table`` (for people), ``csv`` or ``json`` (for scripts)."""
    rows = run_rows(session, run)
    metrics = [m["rule"] for m in run.guideline.document["metrics"]]
    first, last = days_of(run.period_start, run.period_end)
    if output == "json":
        click.echo(json.dumps({"run": {"id": run.id, "period": run.period_kind,
                                       "from": first.isoformat(),
                                       # "to" as the API gives it: the last day, included
                                       "to": last.isoformat(),
                                       "to_exclusive": (last + timedelta(days=1)).isoformat(),
                                       "guideline_version": run.guideline.version},
                               "results": rows}, indent=2, default=_json_value))
        return
    if output == "csv":
        writer = csv.writer(sys.stdout)
        base = ["employee_id", "employee", "email", "team", "state", "composite", "rank", "percentile", "peers",
                "team_mean", "org_mean", "previous_composite", "change", "targets", "attainment_streak",
                "open_flags", "days_worked", "started_on", "left_on"]
        per_metric = ["", "_n", "_ci_low", "_ci_high", "_sufficient", "_target", "_attainment"]
        writer.writerow(base + [f"{m}{s}" for m in metrics for s in per_metric] + ["recommendations"])
        for row in rows:
            values = [row[c] for c in base]
            for m in metrics:
                r = row["metrics"][m]
                values += [r["value"], r["n"], *r["ci"], r["sufficient"], r["target"], r["attainment"]]
            values.append("; ".join(_recommendation(r, run) for r in row["recommendations"]))
            # Names and reasons are people's text, opened in a spreadsheet: none may run as a formula there.
            writer.writerow(["" if v is None else inert(v) if isinstance(v, str) else v for v in values])
        return
    click.echo(f"run {run.id}: {period_of(run).label}, guideline v{run.guideline.version}")
    days = period_of(run).days
    widths = {m: max(len(m), 16) for m in metrics}
    header = f"{'rank':>4}  {'employee':<24} {'team':<16} {'composite':>9}  " + "  ".join(
        f"{m:>{widths[m]}}" for m in metrics) + "  recommendations"
    click.echo(header)
    for row in rows:
        cells = []
        for m in metrics:
            r = row["metrics"][m]
            text = f"{_number(r['value'])} (n={r['n']})" if r["sufficient"] else f"- (n={r['n']})"
            cells.append(f"{text:>{widths[m]}}")
        composite = _number(row["composite"]) if row["state"] == "ok" else "too few"
        recs = ", ".join(_recommendation(r, run) for r in row["recommendations"])
        if row["open_flags"]:  # why someone who seems to qualify got nothing: tiers want no open flags by default
            recs += (", " if recs else "") + f"{row['open_flags']} open flag(s) hold tiers back"
        if row["days_worked"] < days:  # a part of the period only, against peers who had all of it
            recs += (", " if recs else "") + f"worked {row['days_worked']} of {days} days"
        click.echo(f"{row['rank'] or '':>4}  {row['employee'][:24]:<24} {(row['team'] or '')[:16]:<16} "
                   f"{composite:>9}  " + "  ".join(cells) + f"  {recs}")


def _recommendation(r, run: AppraisalRun) -> str:
    """``bonus 250.00 (rejected on run 19)``: a bonus column of the table adds up only with its status. One
    nobody rejected says what did: ``(superseded by run 17)``, ``(not funded: the budget cap was reached)``."""
    amount = "" if r["amount"] is None else f" {r['amount']:.2f}"
    where = "" if r["run_id"] == run.id else f" on run {r['run_id']}"
    status = r["decision_note"] if r["status"] == "rejected" and r["decided_by"] is None and r["decision_note"] \
        else r["status"]
    return f"{r['kind']}{amount} ({status}{where})"
