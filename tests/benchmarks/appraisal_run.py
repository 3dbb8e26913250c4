"""Benchmark an appraisal run on PostgreSQL against one GROUP BY and against pandas; write docs/performance.md.

``python -m tests.benchmarks.appraisal_run --help`` for the options; docs/performance.md says what is
measured and how. Every measurement runs in a fresh process (:mod:`tests.benchmarks.measure`,
:mod:`tests.benchmarks.breakdown`); the data come from :mod:`tests.benchmarks.seed`, the page from
:mod:`tests.benchmarks.report`.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from . import report, seed
from .measure import GROUP_BY_SQL, libpq_url, period_bounds

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/plaudit_bench"
#: kind -> the default guideline's metric that reads it
METRIC_OF_KIND = {"csat": "csat_percent", "nps": "nps", "first_response_time": "first_response_sla",
                  "resolution_time": "resolution_sla"}
#: What a run leaves behind; cleared between measured runs so that each starts from the same tables.
RESET = (
    "TRUNCATE appraisal_runs, appraisal_results, metric_results, recommendations, pending_jobs CASCADE",
    "DELETE FROM flags WHERE feedback_id IS NULL",  # the period flags a run's integrity checks raised
)
POSTGRES_SETTINGS = ("shared_buffers", "work_mem", "jit", "max_parallel_workers_per_gather")


def _sizes(_ctx, _param, value: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in value.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter("give item counts separated by commas, e.g. 100000,300000,1000000") from None
    if not sizes or sizes[0] < 2:
        raise click.BadParameter("give at least one size of 2 items or more")
    return sizes


def _check_database_name(url: str) -> str:
    name = make_url(url).database or ""
    if name == "test" or name.startswith("plaudit_test_") or "bench" not in name:
        raise click.BadParameter(f"the benchmark drops and re-creates {name!r}: name a database of its own, "
                                 "with 'bench' in its name (e.g. plaudit_bench)", param_hint="--database-url")
    return name


def drop_database(url: str, *, create: bool = False) -> None:
    """Drop the benchmark's database (closing its sessions), and create it afresh when ``create``."""
    name = sql.Identifier(_check_database_name(url))
    admin = libpq_url(make_url(url).set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def snapshot_code(into: Path) -> Path:
    """Copy the application's packages and this benchmark into ``into``; return it.

    Every measurement runs from the copy (its directory first on ``sys.path``), so the whole benchmark
    measures the code as it was when it started, even while the working tree changes.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in sorted(path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file()):
        if package != "tests":
            shutil.copytree(ROOT / package, into / package, ignore=ignore)
    (into / "tests").mkdir()
    shutil.copy2(ROOT / "tests" / "__init__.py", into / "tests" / "__init__.py")
    shutil.copytree(Path(__file__).parent, into / "tests" / "benchmarks", ignore=ignore)
    return into


def measure(task: str, url: str, instance_path: str, timeout: float, *options: str, code: Path,
            keep_backend: int | None = None) -> dict:
    """Run one measurement in a fresh process, on the ``code`` snapshot; return what it printed.

    A measurement that takes longer than ``timeout`` seconds is stopped, its queries with it (every session
    of the database but ``keep_backend``, the benchmark's own), and reported as
    ``{"timed_out": True, "seconds": timeout}``.
    """
    try:
        done = subprocess.run([sys.executable, "-m", "tests.benchmarks.measure", task, "--database-url", url,
                               "--instance-path", instance_path, *options], cwd=code, capture_output=True,
                              text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)",
                         [keep_backend or 0])
        return {"timed_out": True, "seconds": timeout}
    if done.returncode:
        raise click.ClickException(f"measuring {task} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_run(conn: psycopg.Connection) -> dict:
    """Compare the latest run's metric values with the GROUP BY's; return how many were compared and differ."""
    expected = {}
    for employee_id, kind, n, _mean, total, _squares in conn.execute(GROUP_BY_SQL, period_bounds()):
        if employee_id is not None:
            expected[(employee_id, METRIC_OF_KIND[kind])] = (n, float(total) / n)
    seen, mismatches = set(), 0
    for employee_id, metric, n, value in conn.execute(
            "SELECT employee_id, metric, n, value FROM metric_results "
            "WHERE run_id = (SELECT max(id) FROM appraisal_runs)"):
        if n == 0 and (employee_id, metric) not in expected:
            continue
        seen.add((employee_id, metric))
        want = expected.get((employee_id, metric))
        if want is None or want[0] != n or abs(want[1] - value) > 1e-6:
            mismatches += 1
    return {"compared": len(seen | expected.keys()), "mismatches": mismatches + len(expected.keys() - seen)}


def reset(conn: psycopg.Connection) -> None:
    for statement in RESET:
        conn.execute(statement)


def machine_facts(conn: psycopg.Connection) -> tuple[dict, dict]:
    cpu = "unknown CPU"
    memory_gb = 0.0
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal:"))
        memory_gb = memory_kib / 1024 / 1024
    except (OSError, StopIteration):
        pass
    packages = {name: importlib.metadata.version(name) for name in ("SQLAlchemy", "psycopg", "pandas")}
    machine = {"cpu": cpu, "cpus": os.cpu_count(), "memory_gb": memory_gb, "system": platform.platform(terse=True),
               "python": platform.python_version(), "packages": packages}
    version = conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]
    settings = {name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
                for name in POSTGRES_SETTINGS}
    return machine, {"version": version, "settings": settings}


def code_version() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def shown_command(url: str) -> str:
    """The command as run, with any password in the database URL hidden."""
    hidden = make_url(url).render_as_string(hide_password=True)
    args = [hidden if arg == url else arg.replace(url, hidden) for arg in sys.argv[1:]]
    return shlex.join(["python", "-m", "tests.benchmarks.appraisal_run", *args])


@click.command()
@click.option("--sizes", default="100000,300000,1000000", show_default=True, callback=_sizes,
              help="feedback items to measure at, separated by commas")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(min=1),
              help="runs per figure; the median is reported")
@click.option("--database-url", default=DEFAULT_URL, show_default=True, envvar="PLAUDIT_BENCH_DATABASE_URL",
              help="a PostgreSQL database for the benchmark alone: it is dropped and re-created")
@click.option("--write/--no-write", default=True, show_default=True,
              help="write the results into docs/performance.md between its markers")
@click.option("--doc", type=click.Path(dir_okay=False, path_type=Path), default=ROOT / "docs" / "performance.md",
              show_default="docs/performance.md", help="the page to write the results into")
@click.option("--timeout", default=300, show_default=True, type=click.FloatRange(min=1),
              help="seconds after which a measurement is stopped and reported as not finished")
@click.option("--keep-database", is_flag=True, help="leave the seeded database behind")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the raw measurements to this JSON file")
@click.option("--from-json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="measure nothing: report the raw measurements of an earlier --json")
def main(sizes: list[int], repeat: int, database_url: str, write: bool, doc: Path, timeout: float,
         keep_database: bool, json_path: Path | None, from_json: Path | None) -> None:
    """Seed the benchmark organisation and time an appraisal run of a year at each size."""
    if from_json is not None:
        results = json.loads(from_json.read_text())
    else:
        results = run_benchmark(sizes, repeat, database_url, timeout, keep_database, json_path)
    rows = [report.summarise(size) for size in results["sizes"]]
    click.echo("\n".join(report.results_table(rows)))
    for statement, met, numbers in report.goals(rows):
        click.echo(f"{'not assessed' if met is None else 'met' if met else 'NOT MET'}: {statement} ({numbers})")
    if write:
        report.write(doc, report.render(results))
        click.echo(f"results written to {doc}")


def run_benchmark(sizes: list[int], repeat: int, database_url: str, timeout: float, keep_database: bool,
                  json_path: Path | None) -> dict:
    """Create and seed the database, measure every size, drop the database; return the raw measurements."""
    if not database_url.startswith("postgresql"):
        raise click.BadParameter("the benchmark runs on PostgreSQL", param_hint="--database-url")
    drop_database(database_url, create=True)
    scratch = Path(tempfile.mkdtemp(prefix="plaudit-bench-"))
    instance_path = str(scratch / "instance")
    try:
        version = code_version()
        code = snapshot_code(scratch / "code")
        prepared = measure("prepare", database_url, instance_path, timeout, code=code)
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            seed.seed_organisation(conn)
            machine, postgres = machine_facts(conn)
            results = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "command": shown_command(database_url),
                       "machine": machine, "postgres": postgres, "code": version, **prepared, "repeat": repeat,
                       "sizes": []}
            for size in sizes:
                results["sizes"].append(measure_size(conn, size, repeat, database_url, instance_path, timeout, code,
                                                     explain=size == sizes[-1]))
                if json_path is not None:
                    json_path.write_text(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not keep_database:
            drop_database(database_url)
    return results


def measure_size(conn: psycopg.Connection, size: int, repeat: int, url: str, instance_path: str,
                 timeout: float, code: Path, explain: bool = False) -> dict:
    """Seed up to ``size`` items, then measure run, GROUP BY, pandas and breakdown ``repeat`` times each.

    A run that times out is not tried again at this size, nor a breakdown whose checks were cancelled.

    :param explain: let the first breakdown explain the run's main queries.
    """
    started = datetime.now(UTC)
    with click.progressbar(length=size - seed.seeded_items(conn), label=f"seeding {size:>9,} items") as bar:
        seed.seed_items(conn, size, bar.update)
    seeded = (datetime.now(UTC) - started).total_seconds()
    conn.execute(GROUP_BY_SQL, period_bounds()).fetchall()  # read the table once: every figure is warm
    reset(conn)
    found = {"size": size, "seed_seconds": seeded, "load": os.getloadavg(), "timeout": timeout, "run": [],
             "group_by": [], "pandas": [], "breakdown": [], "check": None}
    tasks = (("run", "run"), ("group-by", "group_by"), ("pandas", "pandas"), ("breakdown", "breakdown"))
    with click.progressbar(length=repeat * len(tasks), label=f"measuring {size:>7,} items") as bar:
        for index in range(repeat):
            for task, key in tasks:
                bar.update(1)
                if (task == "run" and any(r.get("timed_out") for r in found["run"])
                        or task == "breakdown" and any(b.get("cancelled") for b in found["breakdown"])):
                    continue
                options = ["--statement-timeout", str(timeout)] if task == "breakdown" else []
                if explain and task == "breakdown" and index == 0:
                    options.append("--explain")
                # A breakdown's statements are cancelled after `timeout`; the run goes on without them.
                found[key].append(measure(task, url, instance_path, timeout * (4 if task == "breakdown" else 1),
                                          *options, code=code, keep_backend=conn.info.backend_pid))
                if task in ("run", "breakdown"):
                    if found["check"] is None and not found[key][-1].get("timed_out"):
                        found["check"] = check_run(conn)
                    reset(conn)
    return found


if __name__ == "__main__":
    main()
