"""One measurement in a fresh process: an appraisal run, the hand-written GROUP BY, pandas, or the run's breakdown
(:mod:`tests.benchmarks.breakdown`); or, first, ``prepare``: the schema and the guideline.

``python -m tests.benchmarks.measure TASK --database-url URL --instance-path DIR`` prints one JSON object
on stdout. The benchmark (:mod:`tests.benchmarks.appraisal_run`) starts one process per measurement, so
each starts cold in Python (nothing cached, nothing allocated) and its peak RSS is its own.
"""
from __future__ import annotations

import gc
import json
import resource
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, time
from time import perf_counter

import click

from .seed import FIRST_DAY, LAST_DAY

#: The floor the run is compared with: every metric of every employee, in one GROUP BY over the period.
GROUP_BY_SQL = """\
SELECT employee_id, kind, count(*) AS n, avg(value) AS mean_value,
       sum(p.points) AS total, sum(p.points * p.points) AS squares
FROM feedback,
     LATERAL (SELECT CASE kind
                       WHEN 'csat' THEN CASE WHEN value >= scale_max - 1 THEN 100.0 ELSE 0.0 END
                       WHEN 'nps' THEN CASE WHEN value >= 9 THEN 100.0 WHEN value <= 6 THEN -100.0 ELSE 0.0 END
                       WHEN 'first_response_time' THEN CASE WHEN value <= 60 THEN 100.0 ELSE 0.0 END
                       WHEN 'resolution_time' THEN CASE WHEN value <= 1440 THEN 100.0 ELSE 0.0 END
                     END AS points) AS p
WHERE status = 'accepted' AND value IS NOT NULL
  AND kind IN ('csat', 'nps', 'first_response_time', 'resolution_time')
  AND occurred_at >= %(start)s AND occurred_at < %(end)s
GROUP BY employee_id, kind"""

#: What pandas reads; it then scores and groups the rows itself (:func:`group_with_pandas`).
PANDAS_SQL = """\
SELECT employee_id, kind, value, scale_min, scale_max
FROM feedback
WHERE status = 'accepted' AND value IS NOT NULL
  AND kind IN ('csat', 'nps', 'first_response_time', 'resolution_time')
  AND occurred_at >= %(start)s AND occurred_at < %(end)s"""

def bench_period():
    from appraisal.periods import period_between

    return period_between(FIRST_DAY, LAST_DAY, "custom")


def period_bounds() -> dict:
    """The period as the database stores times: naive UTC."""
    return {"start": datetime.combine(FIRST_DAY, time()),
            "end": datetime.combine(bench_period().end.astimezone(UTC).date(), time())}


def app_config(database_url: str, instance_path: str) -> dict:
    """The settings every benchmark app is created with: only the built-in plugins, jobs inline."""
    from core.plugins import BUILTIN_PLUGINS

    return {"DATABASE_URL": database_url, "REDIS_URL": None, "INSTANCE_PATH": instance_path,
            "SECRET_KEY": "plaudit-benchmark-secret", "RESPONDENT_SALT": "plaudit-benchmark-salt",
            "PLUGINS_ALLOWED": list(BUILTIN_PLUGINS), "PLUGINS_BLOCKED": [], "LOG_LEVEL": "WARNING"}


def libpq_url(database_url: str) -> str:
    """The URL without SQLAlchemy's driver suffix, for psycopg."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def rss_kib() -> int:
    """This process's resident set size now, in KiB (Linux); its peak so far elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return peak_rss_kib()


def peak_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def reset_peak_rss() -> bool:
    """Make the peak RSS start again from the current RSS (Linux); return whether it could.

    Creating the app peaks higher than where it settles: without this the run's peak would be theirs.
    """
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


@contextmanager
def measured(result: dict):
    """Time the block and record this process's memory: baseline right before, peak after."""
    gc.collect()
    result["peak_reset"] = reset_peak_rss()
    result["baseline_kib"] = rss_kib()
    started = perf_counter()
    yield
    result["seconds"] = perf_counter() - started
    result["peak_kib"] = peak_rss_kib()


def prepare(database_url: str, instance_path: str) -> dict:
    """Migrate the empty database and publish the default guideline, as the first run would; name the plugins."""
    from appraisal.guidelines import guideline_in_force
    from core.app import create_app
    from core.db import transaction
    from core.migrate import upgrade
    from core.plugins import get_plugins

    upgrade(database_url)
    app = create_app(app_config(database_url, instance_path))
    with app.app_context():
        with transaction() as session:
            guideline_in_force(session)
        plugins = get_plugins()
        return {"plugins": sorted(name for name, _ in plugins.pm.list_name_plugin() if not name.startswith("_")),
                "integrity_checks": sorted(plugins.integrity_checks)}


def measure_run(database_url: str, instance_path: str) -> dict:
    """Request a run of the benchmark period and let the commit compute it inline, as without Redis."""
    from sqlalchemy import select

    from appraisal.models import AppraisalRun
    from appraisal.runs import request_run
    from core.app import create_app
    from core.db import get_db, transaction

    app = create_app(app_config(database_url, instance_path))
    result: dict = {}
    with app.app_context():
        get_db().ping()  # a worker's connection pool is warm
        period = bench_period()
        with measured(result), transaction() as session:
            run = request_run(session, period)
        with transaction() as session:
            status, error = session.execute(select(AppraisalRun.status, AppraisalRun.error)
                                            .where(AppraisalRun.id == run.id)).one()
    if status != "completed":
        raise click.ClickException(f"appraisal run {run.id} ended {status}: {error}")
    return result | {"run_id": run.id}


def measure_group_by(database_url: str, _instance_path: str) -> dict:
    import psycopg

    result: dict = {}
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("SELECT 1")
        with measured(result):
            rows = conn.execute(GROUP_BY_SQL, period_bounds()).fetchall()
    return result | {"groups": len(rows)}


def group_with_pandas(frame):
    """Score each row as the rules do and group by employee and kind: n, sum, sum of squares, mean value."""
    import numpy as np

    kind, value, top = frame["kind"], frame["value"].to_numpy(), frame["scale_max"].to_numpy()
    points = np.select(
        [kind.eq("csat").to_numpy(), kind.eq("nps").to_numpy(), kind.eq("first_response_time").to_numpy(),
         kind.eq("resolution_time").to_numpy()],
        [np.where(value >= top - 1, 100.0, 0.0), np.where(value >= 9, 100.0, np.where(value <= 6, -100.0, 0.0)),
         np.where(value <= 60, 100.0, 0.0), np.where(value <= 1440, 100.0, 0.0)],
        default=np.nan)
    scored = frame.assign(points=points, squares=points * points)
    return scored.groupby(["employee_id", "kind"], dropna=False).agg(
        n=("points", "size"), total=("points", "sum"), squares=("squares", "sum"), mean_value=("value", "mean"))


def measure_pandas(database_url: str, _instance_path: str) -> dict:
    import pandas

    from core.db import make_engine

    engine = make_engine(database_url)
    result: dict = {}
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        with measured(result):
            frame = pandas.read_sql(PANDAS_SQL, conn, params=period_bounds())
            groups = group_with_pandas(frame)
    engine.dispose()
    return result | {"rows": len(frame), "groups": len(groups)}


def measure_breakdown(database_url: str, instance_path: str, **options) -> dict:
    from .breakdown import measure_breakdown as breakdown

    return breakdown(database_url, instance_path, **options)


TASKS = {"prepare": prepare, "run": measure_run, "group-by": measure_group_by, "pandas": measure_pandas,
         "breakdown": measure_breakdown}


@click.command()
@click.argument("task", type=click.Choice(sorted(TASKS)))
@click.option("--database-url", required=True)
@click.option("--instance-path", required=True, type=click.Path(file_okay=False))
@click.option("--explain", is_flag=True, help="breakdown: explain the run's main queries afterwards")
@click.option("--statement-timeout", type=float, help="breakdown: seconds before PostgreSQL cancels a statement")
def main(task: str, database_url: str, instance_path: str, explain: bool, statement_timeout: float | None) -> None:
    """Measure TASK once and print the result as JSON."""
    options = {"explain": explain, "statement_timeout": statement_timeout} if task == "breakdown" else {}
    click.echo(json.dumps(TASKS[task](database_url, instance_path, **options)))


if __name__ == "__main__":
    main()
