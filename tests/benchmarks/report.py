"""The benchmark's results as Markdown: the table, the goals met or not, where the run's time goes, and the
section of ``docs/performance.md`` between the markers, rewritten in place."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import median

from .breakdown import PHASES
from .measure import GROUP_BY_SQL, PANDAS_SQL

START, END = "<!-- appraisal-benchmark:start -->", "<!-- appraisal-benchmark:end -->"
#: The goals, as DESIGN.md's benchmark organisation is held to them.
GROUP_BY_GOAL = 1.5
MEMORY_GOAL_MB = 300
#: "Flat": the largest size's increase within this factor, or this many MB, of the smallest's.
FLAT_FACTOR, FLAT_SLACK_MB = 1.25, 16

INTRO = f"""# Performance

How long an appraisal run takes on PostgreSQL, and how much memory, for the benchmark organisation of
DESIGN.md ("Jobs and scale"): 2,000 employees in 100 teams and up to 1,000,000 feedback items over 12 months.

## What is measured

`tests/benchmarks/appraisal_run.py` builds a database of its own with the migrations and seeds it in SQL
from a fixed seed, so the rows are the same on every machine and every run: survey answers (CSAT on 1-5, NPS
on 0-10) and ticket timings, 40/10/25/25%; 3% unattributed, 3% quarantined with an open flag; tickets in ten
categories, with their assignment history. Then, for each size, in a fresh Python process each time:

- **the run**: `appraisal.runs.request_run()` for the whole year as a custom period, under the default
  guideline, computed inline when its transaction commits (no Redis), until its results are stored;
- **GROUP BY**: one hand-written query that computes the same metrics per employee and kind (its SQL is below)
  — the floor a run is held to;
- **pandas**: `pandas.read_sql` of the same rows, scored and grouped in pandas;
- the run's **peak memory** (`ru_maxrss`, its peak reset right before the run) and its increase over the
  same process right before the run;
- **where the run's time goes**: another run with `appraisal.runs`' steps wrapped in timers from outside,
  every SQL statement timed, and `EXPLAIN ANALYZE` of its main queries at the largest size.

Each figure is the median of `--repeat` runs, each a new run (earlier runs' results are cleared between them).
The cache is warm: the table has been read once before the first measurement. A measurement still going after
`--timeout` seconds (default 300) is stopped, its queries cancelled, and reported as slower than the timeout;
a run is not tried again at a size where it timed out.

## How to run it

```
. .venv/bin/activate
python -m tests.benchmarks.appraisal_run            # 100k, 300k and 1M items, 3 runs each
python -m tests.benchmarks.appraisal_run --sizes 100000 --repeat 1 --no-write   # a quick look
```

It needs PostgreSQL (`--database-url`, default `postgresql://postgres@127.0.0.1:5432/plaudit_bench`); it
creates that database and drops it at the end (`--keep-database` keeps it). Every measurement runs on a copy
of the code taken when the benchmark starts, so edits made meanwhile do not mix into the figures. With
`--write` (the default) it replaces the section below; the rest of this page is left as it is. `--json FILE`
keeps the raw measurements, and `--from-json FILE` writes the section from them again without measuring.
Seeding a million items takes under a minute; the whole benchmark about five. It is not part of the test
suite.

{START}
{END}
"""


RESULTS_NOTE = ("Run: request to results stored, in a fresh process (imports and app creation not counted). "
                "Peak RSS is the process's `ru_maxrss`, its peak reset right before the run (Linux "
                "`/proc/self/clear_refs`), so that creating the app, which peaks higher than it settles, does not "
                "count; the increase is over the RSS right before the run. The same for pandas, around "
                "`read_sql` and the grouping.")
BREAKDOWN_NOTE = ("Self time of each step (its time less the steps inside it), with the SQL part in brackets: "
                  "another run per repeat, with `appraisal.runs`' functions wrapped in timers from outside and "
                  "every statement timed on the engine. The instrumented total is a little above the run's own "
                  "time. `_store` writes its rows with COPY (`core/bulk.py`), which the engine's statement timer "
                  "does not see: its SQL part shows only the statements around it. The last column says how far "
                  "each step raised the process's peak RSS: which steps set the run's memory.")
PANDAS_NOTE = ("then each row scored as the rules do (numpy `select`) and `groupby(['employee_id', 'kind'])` to "
               "n, sum, sum of squares and mean value (`tests/benchmarks/measure.py`, `group_with_pandas`).")


def med(rows: Sequence[Mapping], key: str) -> float:
    return median(row[key] for row in rows if not row.get("timed_out"))


def increase_mb(rows: Sequence[Mapping]) -> float | None:
    rows = [row for row in rows if not row.get("timed_out")]
    return median((row["peak_kib"] - row["baseline_kib"]) / 1024 for row in rows) if rows else None


def summarise(size: Mapping) -> dict:
    """The figures of one size. A run that did not finish counts as its timeout: a lower bound (``bound``)."""
    finished = [row for row in size["run"] if not row.get("timed_out")]
    bound = len(finished) < len(size["run"])
    run = size["timeout"] if bound else med(finished, "seconds")
    group_by, pandas = med(size["group_by"], "seconds"), med(size["pandas"], "seconds")
    growth = {name: median(p.get("peak_growth_kib", 0) / 1024 for p in found)
              for name in PHASES
              if (found := [p for b in size["breakdown"] for p in b["phases"] if p["phase"] == name])}
    return {"size": size["size"], "run": run, "bound": bound, "group_by": group_by, "pandas": pandas,
            "peak_growth_mb": growth,
            "vs_group_by": run / group_by, "vs_pandas": run / pandas, "per_item_us": 1e6 * run / size["size"],
            "peak_mb": med(finished, "peak_kib") / 1024 if finished and not bound else None,
            "increase_mb": increase_mb(size["run"]) if not bound else None,
            "pandas_increase_mb": increase_mb(size["pandas"]), "seed": size["seed_seconds"]}


def goals(rows: Sequence[Mapping]) -> list[tuple[str, bool | None, str]]:
    """Each goal: its statement, met (None: not assessed) and the numbers behind the verdict.

    A run that did not finish is slower than its timeout, which is enough to judge the time goals by.
    """
    each = ", ".join
    measured = [r for r in rows if r["increase_mb"] is not None]
    unmeasured = [_items(r["size"]) for r in rows if r["increase_mb"] is None]
    missing = f"not measured at {each(unmeasured)}: the run did not finish" if unmeasured else ""
    verdicts = [
        (f"run / GROUP BY ≤ {GROUP_BY_GOAL} at every size", all(r["vs_group_by"] <= GROUP_BY_GOAL for r in rows),
         each(f"{_more(r)}{r['vs_group_by']:.1f} at {_items(r['size'])}" for r in rows)),
        ("the run is faster than pandas at every size", all(r["vs_pandas"] < 1 for r in rows),
         each(f"{_more(r)}{r['vs_pandas']:.2f}× pandas' time at {_items(r['size'])}" for r in rows)),
        (f"the run's memory increase ≤ {MEMORY_GOAL_MB} MB at every size",
         all(r["increase_mb"] <= MEMORY_GOAL_MB for r in measured) if measured and not unmeasured else
         (False if any(r["increase_mb"] > MEMORY_GOAL_MB for r in measured) else None),
         "; ".join(filter(None, [each(f"{r['increase_mb']:.0f} MB at {_items(r['size'])}" for r in measured),
                                 missing]))),
    ]
    if len(rows) < 2:
        verdicts += [("memory flat across sizes", None, "needs two sizes or more"),
                     ("time linear in the items or better", None, "needs two sizes or more")]
        return verdicts
    small, large = rows[0], rows[-1]
    span = f"{_items(small['size'])} to {_items(large['size'])}"
    flat = f"memory flat from {span} (the increase grows by less than {FLAT_FACTOR - 1:.0%} or {FLAT_SLACK_MB} MB)"
    if small["increase_mb"] is None or large["increase_mb"] is None:
        verdicts.append((flat, None, "the run did not finish at " + each(unmeasured)))
    else:
        limit = max(FLAT_FACTOR * small["increase_mb"], small["increase_mb"] + FLAT_SLACK_MB)
        grew = sorted(((large["peak_growth_mb"].get(name, 0) - small["peak_growth_mb"].get(name, 0), name)
                       for name in large["peak_growth_mb"]), reverse=True)
        where = each(f"{name} +{mb:.1f} MB" for mb, name in grew[:3] if mb >= 0.5)
        verdicts.append((flat, large["increase_mb"] <= limit,
                         f"{small['increase_mb']:.0f} MB → {large['increase_mb']:.0f} MB"
                         + (f"; the steps whose peak grew most: {where}" if where else "")))
    size_ratio, time_ratio = large["size"] / small["size"], large["run"] / small["run"]
    linear = f"time linear in the items or better from {span} (time ratio ≤ {size_ratio:g})"
    if small["bound"] or (large["bound"] and time_ratio <= size_ratio):
        verdicts.append((linear, None, "the run did not finish at " + each(unmeasured)))
    else:
        per_item = f"per item {small['per_item_us']:.1f} µs → {_more(large)}{large['per_item_us']:.1f} µs"
        verdicts.append((linear, time_ratio <= size_ratio,
                         f"time ratio {_more(large)}{time_ratio:.1f} for {size_ratio:g}× the items; {per_item}"))
    return verdicts


def _more(row: Mapping) -> str:
    return "> " if row["bound"] else ""


def _items(size: int) -> str:
    return f"{size / 1e6:g}M" if size >= 1_000_000 else f"{size / 1e3:g}k"


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} MB"


def results_table(rows: Sequence[Mapping]) -> list[str]:
    lines = [("| items | run | GROUP BY | run / GROUP BY | pandas | run / pandas | run per item | run peak RSS "
              "| run RSS increase | pandas RSS increase | seeded in |"),
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        more = _more(r)
        lines.append(f"| {r['size']:,} | {more}{_s(r['run'])} | {_s(r['group_by'])} | {more}{r['vs_group_by']:.1f} "
                     f"| {_s(r['pandas'])} | {more}{r['vs_pandas']:.2f} | {more}{r['per_item_us']:.1f} µs "
                     f"| {_mb(r['peak_mb'])} | {_mb(r['increase_mb'])} | {_mb(r['pandas_increase_mb'])} "
                     f"| {_s(r['seed'])} |")
    return lines


def breakdown(sizes: Sequence[Mapping]) -> tuple[list[str], list[dict]]:
    """The table of the run's steps, one column per size, and the steps at the largest size, slowest first."""
    medians = []
    for size in sizes:
        runs = size["breakdown"]
        steps = {}
        for name in PHASES:
            found = [next((p for p in run["phases"] if p["phase"] == name), None) for run in runs]
            if any(found):
                found = [p or {"seconds": 0.0, "sql_seconds": 0.0, "statements": 0} for p in found]
                steps[name] = {"seconds": med(found, "seconds"), "sql_seconds": med(found, "sql_seconds"),
                               "statements": max(p["statements"] for p in found),
                               "peak_growth_kib": median(p.get("peak_growth_kib", 0) for p in found),
                               "cancelled": any(p.get("cancelled") for p in found)}
        medians.append((size["size"], med(runs, "seconds"), steps))
    largest = medians[-1][2]
    # A cancelled step would leave every other share at 0%: the shares are of the steps that finished.
    finished = sum(step["seconds"] for step in largest.values() if not step["cancelled"])
    share = f"share at {_items(medians[-1][0])}" + (" (of the steps that finished)"
                                                     if len(largest) > sum(1 for s in largest.values()
                                                                           if not s["cancelled"]) else "")
    head = ("| step | " + " | ".join(f"{_items(n)}: time (SQL)" for n, _, _ in medians)
            + f" | {share} | statements ({' / '.join(_items(n) for n, _, _ in medians)}) "
            + f"| peak RSS raised by ({' / '.join(_items(n) for n, _, _ in medians)}) |")
    lines = [head, "|---|" + "---:|" * (len(medians) + 3)]
    for name in PHASES:
        if name not in largest:
            continue
        cells = [_step(steps[name]) if name in steps else "–" for _, _, steps in medians]
        part = "–" if largest[name]["cancelled"] else f"{largest[name]['seconds'] / finished:.0%}"
        counts = " / ".join(f"{steps[name]['statements']:,}" if name in steps else "–" for _, _, steps in medians)
        grown = " / ".join(f"{steps[name]['peak_growth_kib'] / 1024:.1f}" if name in steps else "–"
                           for _, _, steps in medians)
        lines.append(f"| {PHASES[name]} | " + " | ".join(cells) + f" | {part} | {counts} | {grown} MB |")
    lines.append("| **total** | " + " | ".join(f"**{_s(total)}**" for _, total, _ in medians) + " | | | |")
    if any(step["cancelled"] for _, _, steps in medians for step in steps.values()):
        lines.append("| the steps that finished | " + " | ".join(
            _s(sum(step["seconds"] for step in steps.values() if not step["cancelled"])) for _, _, steps in medians)
            + " | 100% | | |")
    ranked = sorted(({"phase": name, **step} for name, step in largest.items()), key=lambda s: -s["seconds"])
    return lines, ranked


def _step(step: Mapping) -> str:
    if step["cancelled"]:
        return f"> {_s(step['seconds'])}, cancelled"
    return f"{_s(step['seconds'])} ({_s(step['sql_seconds'])})"


def _slow(step: Mapping) -> str:
    name = PHASES[step["phase"]].split(":")[0]
    if step["cancelled"]:
        return f"{name} > {_s(step['seconds'])} (cancelled)"
    in_sql = f" ({step['sql_seconds'] / step['seconds']:.0%} in SQL)" if step["seconds"] else ""
    return f"{name} {_s(step['seconds'])}{in_sql}"


def statement_table(size: Mapping) -> list[str]:
    """SQL time by statement (verb and table) at one size, the costliest first."""
    totals: dict[tuple[str, str], list] = {}
    runs = size["breakdown"]
    for run in runs:
        for row in run["statements"]:
            totals.setdefault((row["phase"], row["statement"]), []).append(row)
    rows = sorted(((phase, label, median(r["sql_seconds"] for r in found), max(r["statements"] for r in found))
                   for (phase, label), found in totals.items()), key=lambda row: -row[2])
    lines = ["| step | statement | SQL time | statements |", "|---|---|---:|---:|"]
    lines += [f"| {phase} | `{label}` | {_s(seconds)} | {count:,} |" for phase, label, seconds, count in rows[:12]]
    return lines


def render(results: Mapping) -> str:
    sizes = results["sizes"]
    rows = [summarise(size) for size in sizes]
    machine, postgres = results["machine"], results["postgres"]
    settings = ", ".join(f"{key} {value}" for key, value in postgres["settings"].items())
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items())
    loads = ", ".join(f"{size['load'][0]:.2f}" for size in sizes)
    repeats = f"median of {results['repeat']} runs per figure" if results["repeat"] > 1 else "one run per figure"
    measured_on = (f"Measured {results['when']} on {machine['cpu']} ({machine['cpus']} CPUs, "
                   f"{machine['memory_gb']:.0f} GB RAM), {machine['system']}; {postgres['version']} ({settings}); "
                   f"Python {machine['python']}, {packages}. Code: {results['code']}. "
                   f"Load average (1 min) before each size: {loads}.")
    loaded = (f"Plugins loaded: {', '.join(results['plugins'])}; integrity checks: "
              f"{', '.join(results['integrity_checks']) or 'none'}.")
    out = [START, "", "## Results", "", measured_on, "", loaded, "",
           f"Command: `{results['command']}` ({repeats}).", ""]
    out += results_table(rows)
    out += ["", RESULTS_NOTE, "", "### Goals", ""]
    for statement, met, numbers in goals(rows):
        verdict = "not assessed" if met is None else ("**met**" if met else "**not met**")
        out.append(f"- {statement}: {verdict} ({numbers})")
    out += ["", "The run's metric values against the GROUP BY's: " + "; ".join(
        f"{_items(size['size'])}: " + (f"{size['check']['compared']:,} compared, {size['check']['mismatches']} differ"
                                      if size["check"] else "not checked (no run finished)")
        for size in sizes) + ".", ""]
    timed_out = [f"{_items(row['size'])}" for row in rows if row["bound"]]
    if timed_out:
        stopped = (f"**The run did not finish within the timeout ({_s(sizes[-1]['timeout'])}) at "
                   f"{', '.join(timed_out)}**: it was stopped, and its time counts as the timeout, a lower bound.")
        out += [stopped, ""]
    lines, ranked = breakdown(sizes)
    floor = [f"{_items(size['size'])}: {med(steps, 'seconds') / row['group_by']:.1f}"
             for size, row in zip(sizes, rows, strict=True)
             if (steps := [p for b in size["breakdown"] for p in b["phases"] if p["phase"] == "period_aggregates"])]
    if floor:
        out += ["The run's own aggregate query (`period_aggregates`, below) against the GROUP BY: "
                + ", ".join(floor) + " times its time.", ""]
    out += ["### Where the run's time goes", "", BREAKDOWN_NOTE, ""]
    cancelled = [_items(size["size"]) for size in sizes if any(b.get("cancelled") for b in size["breakdown"])]
    if cancelled:
        note = (f"At {', '.join(cancelled)} PostgreSQL cancelled the integrity checks' period inspections after "
                "the timeout (`statement_timeout`); that run went on without them, so the steps after them are "
                "timed all the same, and its total is not the time of a whole run.")
        out += [note, ""]
    out += lines
    out += ["", f"SQL time by statement at {_items(sizes[-1]['size'])}:", ""] + statement_table(sizes[-1])
    out += ["", f"Slowest steps at {_items(sizes[-1]['size'])}: " + "; ".join(map(_slow, ranked[:4])) + ".", ""]
    plans = next((b["plans"] for b in sizes[-1]["breakdown"] if b.get("plans")), {})
    if plans:
        out += [f"### Query plans at {_items(sizes[-1]['size'])} (`EXPLAIN (ANALYZE, BUFFERS)`, after the run)", ""]
    for name, plan in plans.items():
        out += [f"<details><summary>{name}</summary>", "", "```", *plan, "```", "", "</details>", ""]
    out += ["### The baselines", "", "GROUP BY (`:start`, `:end`: the year):", "", "```sql", GROUP_BY_SQL, "```", "",
            "pandas: `pandas.read_sql` of", "", "```sql", PANDAS_SQL, "```", "",
            PANDAS_NOTE, "", END]
    return "\n".join(out)


def write(doc: Path, section: str) -> None:
    """Put ``section`` between the markers of ``doc``; create the page with its introduction if missing."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else INTRO
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
