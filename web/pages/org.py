"""HR's organisation overview: the latest run's distributions, the trend over runs, teams side by side, case mix.

Every figure is aggregated in the database, in a fixed handful of queries whatever the size of the org.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup
from sqlalchemy import (
    JSON,
    ColumnElement,
    case,
    column,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from appraisal.guidelines import metric_bounds
from appraisal.models import AppraisalResult, AppraisalRun, MetricResult
from appraisal.outdated import outdated_run
from appraisal.periods import bound_day, short_label
from appraisal.report import completed_run, latest_completed_run, metric_display
from core.auth import roles_required
from core.db import get_session
from core.models import Employee, Feedback, Flag, Team
from core.plugins import get_plugins
from web.arguments import whole_number
from web.charts import bar_chart, line_chart

bp = Blueprint("org", __name__)

KINDS = ("week", "month", "quarter")
#: Runs in the trend: the latest completed run of each of the last so many periods.
TREND_PERIODS = 12
#: Bins of every histogram, of equal width over the value's range.
BINS = 10
#: Teams drawn beside the organisation in the trend chart; more lines than colours cannot be told apart.
MAX_CHARTED_TEAMS = 4


@bp.get("/org")
@roles_required("hr")
def overview():
    """The latest completed run of a period kind, or the run ``?run=`` names (a custom period's too):
    distributions, trend, teams and case mix, org-wide."""
    session = get_session()
    run_id = whole_number("run")
    if run_id is not None:
        run = completed_run(session, run_id)
        if run is None:
            abort(404, description=f"run: there is no completed appraisal run {run_id}")
        kind = run.period_kind
    else:
        kind = request.args.get("kind", "week")
        if kind not in KINDS:
            abort(400, description=f"kind: choose {', '.join(KINDS)}, or a run from the runs page")
        run = latest_completed_run(session, kind)
    if run is None:
        return render_template("org/overview.html", kind=kind, kinds=KINDS, run=None)
    trend = _trend(session, kind)
    charted = _charted_teams(trend)
    document = run.guideline.document
    composites = _composite_bins(session, run)
    metrics = _metric_bins(session, run, document)
    teams = _teams(session, run)
    mix = _case_mix(session, run, document)
    return render_template(
        "org/overview.html", kind=kind, kinds=KINDS, run=run, trend=trend, charted=charted, chosen=run_id,
        ranked=session.execute(select(func.count(AppraisalResult.rank), func.avg(_ranked_composite()))
                               .where(AppraisalResult.run_id == run.id)).one(),
        max_teams=MAX_CHARTED_TEAMS, outdated=outdated_run(session, run),
        composites=composites, metrics=metrics, teams=teams, mix=mix,
        composite_chart=_histogram_chart(composites, f"Employees by composite, {_period_label(run)}"),
        trend_chart=line_chart(trend.labels, {"Organisation": trend.org,
                                              **{trend.team_names[t]: trend.teams[t] for t in charted}},
                               label=f"Mean composite per {kind}", low=0, high=100),
        metric_charts={m.name: _histogram_chart(m, f"Employees by {m.title}, {_period_label(run)}") for m in metrics},
        mix_chart=bar_chart([(row.category, row.value) for row in mix.categories], reference=mix.org_value,
                            label=f"{mix.title} by ticket category, with the organisation's mean") if mix else None)


def _ranked_composite():
    """The composite of the ranked, NULL for the others: the means people are compared with average only those
    (someone who worked too little of the period keeps a composite but has no rank)."""
    return case((AppraisalResult.rank.is_not(None), AppraisalResult.composite))


def _period_label(run: AppraisalRun) -> str:
    return f"{run.period_kind} of {bound_day(run.period_start):%Y-%m-%d}"


# --- histograms -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bin:
    label: str
    count: int


@dataclass
class Histogram:
    name: str
    bins: list[Bin]
    #: Results with no value to place: an insufficient sample, or no composite.
    missing: int = 0
    #: What people call it: the scoring rule's title (the metric's key when the rule is not loaded).
    title: str = ""

    @property
    def placed(self) -> int:
        return sum(b.count for b in self.bins)


def _histogram_chart(histogram: Histogram, label: str) -> Markup:
    """Bars of the histogram; nothing when no value was placed (an axis of zeros says less than a sentence)."""
    if not histogram.placed:
        return Markup("")
    return bar_chart([(b.label, b.count) for b in histogram.bins], label=label, counts=True)


def _edges(low: float, high: float) -> list[float]:
    return [low + (high - low) * i / BINS for i in range(BINS + 1)]


def _bucket(value: ColumnElement, low: float, high: float, missing: ColumnElement) -> ColumnElement:
    """The bin of ``value`` as a CASE ladder (portable where width_bucket is not); -1 when ``missing``.

    Values below ``low`` fall in the first bin and above ``high`` in the last, so every value is counted.
    """
    edges = _edges(low, high)
    return case((missing, -1), *[(value < edges[i + 1], i) for i in range(BINS - 1)], else_=BINS - 1)


def _bins(low: float, high: float, counts: Mapping[int, int]) -> list[Bin]:
    edges = _edges(low, high)
    # "-100 to -80" reads where "-100–-80" does not; a range of positives keeps its dash.
    dash = " to " if low < 0 else "–"
    return [Bin(f"{_number(edges[i])}{dash}{_number(edges[i + 1])}", counts.get(i, 0)) for i in range(BINS)]


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _composite_bins(session: Session, run: AppraisalRun) -> Histogram:
    composite = AppraisalResult.composite
    binned = (select(_bucket(composite, 0, 100, composite.is_(None)).label("bin"))
              .where(AppraisalResult.run_id == run.id).subquery())
    # Grouped outside: PostgreSQL would not match a CASE with bound parameters in SELECT and GROUP BY.
    counts = dict(session.execute(select(binned.c.bin, func.count()).group_by(binned.c.bin)).all())
    return Histogram("composite", _bins(0, 100, counts), counts.get(-1, 0))


def _bounds(metric: Mapping, rules: Mapping) -> tuple[float, float] | None:
    """The range a guideline metric's values span: the guideline's own bounds, else the rule's."""
    rule = rules.get(metric["rule"])
    bounds = metric_bounds(metric, rule) if rule is not None or metric.get("bounds") else None
    return tuple(sorted(bounds)) if bounds else None


def _metric_bins(session: Session, run: AppraisalRun, document: Mapping) -> list[Histogram]:
    """Each guideline metric's values in the run, binned over its range; one query for all of them."""
    ranges = {m["rule"]: _bounds(m, get_plugins().scoring_rules) for m in document["metrics"]}
    ranges = {name: bounds for name, bounds in ranges.items() if bounds is not None}
    if not ranges:
        return []
    value = MetricResult.value
    missing = or_(value.is_(None), ~MetricResult.sufficient)
    ladder = case(*[(MetricResult.metric == name, _bucket(value, low, high, missing))
                    for name, (low, high) in ranges.items()], else_=-1)
    binned = (select(MetricResult.metric, ladder.label("bin"))
              .where(MetricResult.run_id == run.id, MetricResult.metric.in_(sorted(ranges))).subquery())
    counts: dict[str, dict[int, int]] = {}
    for metric, bin_, count in session.execute(select(binned.c.metric, binned.c.bin, func.count())
                                               .group_by(binned.c.metric, binned.c.bin)):
        counts.setdefault(metric, {})[bin_] = count
    rules = get_plugins().scoring_rules
    return [Histogram(name, _bins(low, high, counts.get(name, {})), counts.get(name, {}).get(-1, 0),
                      rules[name].title if name in rules else name)
            for name, (low, high) in ranges.items()]


# --- the trend over runs ----------------------------------------------------------------------------------


@dataclass
class Trend:
    runs: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    org: list[float | None] = field(default_factory=list)
    teams: dict[int | None, list[float | None]] = field(default_factory=dict)
    team_names: dict[int | None, str] = field(default_factory=dict)


def _trend(session: Session, kind: str) -> Trend:
    """The mean composite of the org and of each team, per period, over the latest run of each period."""
    latest = (select(func.max(AppraisalRun.id).label("id"))
              .where(AppraisalRun.status == "completed", AppraisalRun.period_kind == kind)
              .group_by(AppraisalRun.period_start, AppraisalRun.period_end)
              .order_by(AppraisalRun.period_start.desc()).limit(TREND_PERIODS).subquery())
    rows = session.execute(
        select(AppraisalRun.id, AppraisalRun.period_start, AppraisalResult.team_id, Team.name,
               func.sum(_ranked_composite()), func.count(AppraisalResult.rank))
        .join(latest, latest.c.id == AppraisalRun.id)
        .outerjoin(AppraisalResult, AppraisalResult.run_id == AppraisalRun.id)
        .outerjoin(Team, Team.id == AppraisalResult.team_id)
        .group_by(AppraisalRun.id, AppraisalRun.period_start, AppraisalResult.team_id, Team.name)).all()
    trend = Trend()
    starts = sorted({(start, run_id) for run_id, start, *_ in rows})
    trend.runs = [run_id for _, run_id in starts]
    trend.starts = [start for start, _ in starts]
    trend.labels = [short_label(kind, start) for start in trend.starts]
    position = {run_id: i for i, run_id in enumerate(trend.runs)}
    totals = [[0.0, 0] for _ in trend.runs]
    for run_id, _, team_id, team_name, total, count in rows:
        if not count:
            continue
        i = position[run_id]
        totals[i][0] += float(total)
        totals[i][1] += count
        trend.team_names.setdefault(team_id, team_name or "No team")
        trend.teams.setdefault(team_id, [None] * len(trend.runs))[i] = float(total) / count
    trend.org = [total / count if count else None for total, count in totals]
    trend.team_names = dict(sorted(trend.team_names.items(), key=lambda item: (item[0] is None, item[1])))
    return trend


def _charted_teams(trend: Trend) -> list[int | None]:
    """The teams the user picked (``?team=``), or every team when there are few enough to draw."""
    asked = request.args.getlist("team")
    if not asked:
        teams = [t for t in trend.team_names if t is not None]
        return teams if len(teams) <= MAX_CHARTED_TEAMS else []
    if not all(raw.isdigit() for raw in asked):
        abort(400, description="team: give team numbers, as the team boxes do")
    chosen = list(dict.fromkeys(int(raw) for raw in asked))
    if len(chosen) > MAX_CHARTED_TEAMS:
        abort(400, description=f"team: compare at most {MAX_CHARTED_TEAMS} teams at once")
    unknown = [t for t in chosen if t not in trend.team_names]
    if unknown:
        abort(400, description=f"team: no results for team {unknown[0]} in these runs")
    return chosen


# --- teams ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    team_id: int | None
    name: str
    employees: int
    mean: float | None
    ranked: int
    open_flags: int


def _teams(session: Session, run: AppraisalRun) -> list[TeamRow]:
    """Per team in the run: people appraised, the ranked's mean composite, how many were ranked, flags still
    open."""
    results = session.execute(
        select(AppraisalResult.team_id, Team.name, func.count(), func.avg(_ranked_composite()),
               func.count(AppraisalResult.rank))
        .outerjoin(Team, Team.id == AppraisalResult.team_id).where(AppraisalResult.run_id == run.id)
        .group_by(AppraisalResult.team_id, Team.name)).all()
    flags = _open_flags(session, run)
    rows = [TeamRow(team_id, name or "No team", employees, float(mean) if mean is not None else None, ranked,
                    flags.get(team_id, 0)) for team_id, name, employees, mean, ranked in results]
    if flags.get(None) and all(row.team_id is not None for row in rows):
        rows.append(TeamRow(None, "No team", 0, None, 0, flags[None]))
    return sorted(rows, key=lambda row: (row.team_id is None, row.name))


def _open_flags(session: Session, run: AppraisalRun) -> dict[int | None, int]:
    """Undecided flags about the run's period, by team: on its items, and on employees' periods."""
    on_items = (select(func.coalesce(Feedback.team_id, Employee.team_id).label("team_id")).select_from(Flag)
                .join(Feedback, Feedback.id == Flag.feedback_id)
                .outerjoin(Employee, Employee.id == Feedback.employee_id)
                .where(Flag.decision.is_(None), Feedback.occurred_at >= run.period_start,
                       Feedback.occurred_at < run.period_end))
    on_periods = (select(Employee.team_id.label("team_id")).select_from(Flag)
                  .join(Employee, Employee.id == Flag.employee_id)
                  .where(Flag.decision.is_(None), Flag.period_start < run.period_end,
                         Flag.period_end > run.period_start))
    both = union_all(on_items, on_periods).subquery()
    return dict(session.execute(select(both.c.team_id, func.count()).group_by(both.c.team_id)).all())


# --- case mix ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryRow:
    category: str
    n: int
    value: float


@dataclass
class CaseMix:
    metric: str
    #: The metric's name as people read it (``CSAT %``).
    title: str
    display: str
    #: The organisation's figures per category, as the run worked them out and compared everyone with.
    categories: list[CategoryRow]
    #: The metric over every categorised item the run counted (the categories pooled): the bars' reference.
    org_value: float | None
    org_n: int


def _case_mix(session: Session, run: AppraisalRun, document: Mapping) -> CaseMix | None:
    """The run's case-mix metric by ticket category, as the run stored it (``document``: the run's guideline).

    Read from the stored results, not worked out again from the feedback: items quarantined, released or
    re-attributed since would otherwise change a run's figures after the fact.
    """
    name = document.get("case_mix_metric")
    rule = get_plugins().scoring_rules.get(name) if name else None
    if rule is None:
        return None
    categories = sorted((CategoryRow(category, n, value) for category, n, value in _org_categories(session, run)
                         if category is not None and n), key=lambda row: row.category)
    n = sum(row.n for row in categories)
    value = sum(row.value * row.n for row in categories) / n if n else None
    return CaseMix(name, rule.title, metric_display(document, rule), categories, value, n)


def _org_categories(session: Session, run: AppraisalRun) -> Sequence[tuple[str, int, float]]:
    """``(category, org_n, org_value)`` of every category in the run's stored case mixes, in one query.

    Each employee's case mix holds, beside their own figures, the organisation's for each of their categories:
    the same in every result that has the category. The database unpacks the JSON and keeps one row per
    category, so the page reads a row per category, not every result's case mix.
    """
    if session.get_bind().dialect.name == "postgresql":
        rows = (func.jsonb_array_elements(AppraisalResult.case_mix["categories"])
                .table_valued(column("value", JSONB)))
    else:
        rows = func.json_each(AppraisalResult.case_mix, "$.categories").table_valued(column("value", JSON))
    entry = rows.c.value
    unpacked = (select(entry["category"].as_string().label("category"),
                       entry["org_n"].as_integer().label("org_n"), entry["org_value"].as_float().label("org_value"))
                .select_from(AppraisalResult).join(rows, true()).where(AppraisalResult.run_id == run.id).subquery())
    # Grouped outside: PostgreSQL would not match the ->> with its bound key in SELECT and GROUP BY.
    return session.execute(select(unpacked.c.category, func.max(unpacked.c.org_n), func.max(unpacked.c.org_value))
                           .group_by(unpacked.c.category)).all()
