"""Where a run's time goes: a run with appraisal.runs' steps wrapped in timers from outside, every SQL statement
timed on the engine, and the plans of its main queries.

Nothing in the application is changed for it: the breakdown replaces module attributes in its own process
(the benchmark starts a fresh one for each breakdown), so the run is the real one, step for step.
"""
from __future__ import annotations

import functools
import gc
import re
from collections import defaultdict
from contextlib import contextmanager
from time import perf_counter

from .measure import (
    GROUP_BY_SQL,
    app_config,
    bench_period,
    peak_rss_kib,
    period_bounds,
    reset_peak_rss,
)

#: The functions of appraisal.runs (and the kernel's outbox) the breakdown times, with how the table names them.
PHASES = {
    "request_run": "request_run: guideline, run row, outbox row",
    "compute_run": "compute_run: claim the run, mark it running / completed",
    "appraise_into": "appraise_into: delete old results, watermark, people, case-mix spec",
    "raise_period_flags": "raise_period_flags: integrity checks' period inspections",
    "period_aggregates": "period_aggregates: every metric of the period and the case mix by category (one query)",
    "metric_aggregates": "metric_aggregates: every metric of the period before (one query)",
    "targets_in_force": "targets_in_force",
    "_previous_streaks": "_previous_streaks",
    "_open_flags": "_open_flags: undecided flags per employee",
    "engine": "Appraisal.run: the engine, in Python",
    "_store": "_store: write results, metric results, recommendations",
    "commit": "commits (flush, COMMIT), outside the phases above",
    "dispatch_pending": "outbox: dispatch after commit",
    "run_pending_job": "outbox: load and delete the job row",
    "announce_run": "announce_run: appraisal_completed hook",
    "total": "the rest: sessions, app context, transaction set-up",
}
#: The steps whose (first) query the breakdown explains, when asked to.
EXPLAINED = ("period_aggregates", "raise_period_flags")


class PhaseTimer:
    """Exclusive ("self") time of nested phases, and the SQL time and statements spent in each."""

    def __init__(self):
        self.stack: list[list] = []
        self.self_seconds: dict[str, float] = defaultdict(float)
        self.sql_seconds: dict[str, float] = defaultdict(float)
        self.statements: dict[str, int] = defaultdict(int)
        #: How much each phase raised the process's peak RSS (KiB): which step sets the run's memory.
        self.peak_growth_kib: dict[str, int] = defaultdict(int)
        #: (phase, "INSERT INTO metric_results", ...) -> [seconds, statements]
        self.by_statement: dict[tuple[str, str], list] = defaultdict(lambda: [0.0, 0])
        self.captured: dict[str, tuple] = {}

    @property
    def current(self) -> str:
        return self.stack[-1][0] if self.stack else "outside"

    @contextmanager
    def phase(self, name: str):
        # name, started, time in inner phases, peak RSS at the start, peak growth in inner phases
        frame = [name, perf_counter(), 0.0, peak_rss_kib(), 0]
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            elapsed, grown = perf_counter() - frame[1], peak_rss_kib() - frame[3]
            self.self_seconds[name] += elapsed - frame[2]
            self.peak_growth_kib[name] += grown - frame[4]
            if self.stack:
                self.stack[-1][2] += elapsed
                self.stack[-1][4] += grown

    def wrap(self, name: str, func):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            with self.phase(name):
                return func(*args, **kwargs)
        return timed

    def listen(self, engine) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_started"] = perf_counter()
            if self.current in EXPLAINED and statement.lstrip().upper().startswith("SELECT"):
                self.captured.setdefault(self.current, (statement, parameters))

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            self._spent(statement, perf_counter() - conn.info["bench_started"])

        @event.listens_for(engine, "handle_error")
        def _failed(context):  # a cancelled statement took its time too
            if context.connection is not None and "bench_started" in context.connection.info:
                self._spent(context.statement or "?", perf_counter() - context.connection.info["bench_started"])

    def _spent(self, statement: str, elapsed: float) -> None:
        if statement.startswith("EXPLAIN"):  # the plans taken after the run
            return
        self.sql_seconds[self.current] += elapsed
        self.statements[self.current] += 1
        spent = self.by_statement[(self.current, statement_label(statement))]
        spent[0] += elapsed
        spent[1] += 1


_TARGET = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)|\bFROM\s+(\w+)", re.IGNORECASE | re.DOTALL)


def statement_label(statement: str) -> str:
    """``INSERT INTO metric_results``, ``SELECT FROM feedback``: what a statement does, to what."""
    match = _TARGET.search(statement)
    if match is None:
        return statement.split(None, 1)[0].upper() if statement.strip() else "?"
    if match.group(1):
        return f"{match.group(1).upper()} {match.group(2)}"
    return f"{statement.split(None, 1)[0].upper()} FROM {match.group(3)}"


def measure_breakdown(database_url: str, instance_path: str, explain: bool = False,
                      statement_timeout: float | None = None) -> dict:
    """A run with its steps timed from outside: appraisal.runs' functions wrapped, every SQL statement timed.

    :param explain: also ``EXPLAIN ANALYZE`` the run's main queries and the GROUP BY after the run.
    :param statement_timeout: seconds after which PostgreSQL cancels a statement. When the integrity
        checks' period inspections are cancelled, the run goes on without them (under a savepoint), so the
        steps after them are still timed; any other cancelled statement fails the run.
    """
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from appraisal import runs
    from core import jobs
    from core.app import create_app
    from core.db import get_db, transaction

    timer = PhaseTimer()
    cancelled: list[str] = []
    runs.raise_period_flags = _cancellable(runs.raise_period_flags, cancelled)
    for module, names in ((runs, [n for n in PHASES if hasattr(runs, n)]),
                          (jobs, ["dispatch_pending", "run_pending_job"])):
        for name in names:
            setattr(module, name, timer.wrap(name, getattr(module, name)))
    runs.Appraisal.run = timer.wrap("engine", runs.Appraisal.run)
    Session.commit = timer.wrap("commit", Session.commit)

    app = create_app(app_config(database_url, instance_path))
    with app.app_context():
        database = get_db()
        if statement_timeout:
            @event.listens_for(database.engine, "connect")
            def _timeout(dbapi_conn, _record):
                with dbapi_conn.cursor() as cursor:
                    cursor.execute(f"SET statement_timeout = {int(statement_timeout * 1000)}")
                dbapi_conn.commit()
        database.ping()
        timer.listen(database.engine)
        period = bench_period()
        gc.collect()
        reset_peak_rss()
        started = perf_counter()
        with timer.phase("total"), transaction() as session:
            runs.request_run(session, period)
        total = perf_counter() - started
        plans = {}
        if explain:
            plans = {name: _explain(database.engine, *timer.captured[name], analyze=name not in cancelled)
                     for name in EXPLAINED if name in timer.captured}
            plans["group_by"] = _explain(database.engine, GROUP_BY_SQL, period_bounds())
    phases = [{"phase": name, "label": PHASES[name], "seconds": timer.self_seconds[name],
               "sql_seconds": timer.sql_seconds[name], "statements": timer.statements[name],
               "peak_growth_kib": timer.peak_growth_kib[name],
               "cancelled": name in cancelled}
              for name in PHASES if name in timer.self_seconds]
    statements = [{"phase": phase, "statement": label, "sql_seconds": seconds, "statements": count}
                  for (phase, label), (seconds, count) in timer.by_statement.items()]
    return {"seconds": total, "phases": phases, "statements": statements, "plans": plans, "cancelled": cancelled}


def _is_cancelled(exc: Exception) -> bool:
    import psycopg

    return isinstance(getattr(exc, "orig", exc), psycopg.errors.QueryCanceled)


def _cancellable(raise_period_flags, cancelled: list[str]):
    """``raise_period_flags`` under a savepoint: cancelled by the statement timeout, it raises no flags."""
    from sqlalchemy.exc import DBAPIError

    @functools.wraps(raise_period_flags)
    def step(session, *args, **kwargs):
        try:
            with session.begin_nested():
                return raise_period_flags(session, *args, **kwargs)
        except DBAPIError as exc:
            if not _is_cancelled(exc):
                raise
            cancelled.append("raise_period_flags")
            return 0
    return step


def _explain(engine, statement: str, parameters, analyze: bool = True) -> list[str]:
    """The plan with ANALYZE; without, when the statement did not finish within the statement timeout."""
    from sqlalchemy.exc import DBAPIError

    unfinished = ["-- did not finish within the statement timeout: the plan without ANALYZE"]
    with engine.connect() as conn:
        try:
            if not analyze:
                return unfinished + [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
            return [row[0] for row in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)]
        except DBAPIError as exc:
            if not _is_cancelled(exc):
                raise
            conn.rollback()
            return unfinished + [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
        finally:
            conn.rollback()
