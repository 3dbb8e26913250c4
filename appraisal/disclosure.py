"""Which benchmark means an employee may read: none that is one colleague's own figure.

A team mean that pools the reader and one colleague, or that colleague alone (a team's only mystery visit, say),
tells the reader what that colleague scored. What an employee reads of their team and organisation is held back
where the mean pools fewer than :data:`MIN_COLLEAGUES` people besides them; managers and HR, who read each
person's figures anyway, see every mean. Counted in the database, in three statements whatever the team's size.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .models import AppraisalResult, MetricResult

MIN_COLLEAGUES = 2


@dataclass(frozen=True)
class Colleagues:
    """How many colleagues besides one employee each mean of some runs pools."""

    teams: dict[int, int | None]  # run -> the employee's team in it
    #: (run, metric, or None for the composite) -> {team: colleagues with items, or with a composite}
    counts: dict[tuple[int, str | None], dict[int | None, int]]

    def thin(self, run_id: int, scope: str, metric: str | None = None) -> bool:
        """Whether the ``team`` or ``org`` mean of ``metric`` (None: the composite) in ``run_id`` pools too few."""
        by_team = self.counts.get((run_id, metric), {})
        if scope == "team":
            team = self.teams.get(run_id)
            return team is None or by_team.get(team, 0) < MIN_COLLEAGUES
        return sum(by_team.values()) < MIN_COLLEAGUES


def colleagues(session: Session, run_ids: Sequence[int], employee_id: int) -> Colleagues:
    """Count, for each of ``run_ids``, the colleagues behind every team and organisation mean ``employee_id``
    reads: people with items in a metric (its means pool their items), people with a composite (its means
    average those)."""
    others = and_(AppraisalResult.run_id.in_(run_ids), AppraisalResult.employee_id != employee_id)
    metric = session.execute(
        select(MetricResult.run_id, MetricResult.metric, AppraisalResult.team_id, func.count())
        .join(AppraisalResult, and_(AppraisalResult.run_id == MetricResult.run_id,
                                    AppraisalResult.employee_id == MetricResult.employee_id))
        .where(others, MetricResult.n > 0)
        .group_by(MetricResult.run_id, MetricResult.metric, AppraisalResult.team_id)).all()
    composite = session.execute(
        select(AppraisalResult.run_id, None, AppraisalResult.team_id, func.count())
        .where(others, AppraisalResult.composite.is_not(None))
        .group_by(AppraisalResult.run_id, AppraisalResult.team_id)).all()
    counts: dict[tuple[int, str | None], dict[int | None, int]] = {}
    for run, name, team, count in [*metric, *composite]:
        counts.setdefault((run, name), {})[team] = count
    teams = dict(session.execute(select(AppraisalResult.run_id, AppraisalResult.team_id).where(
        AppraisalResult.run_id.in_(run_ids), AppraisalResult.employee_id == employee_id)).all())
    return Colleagues(teams, counts)


def withhold_thin_means(report: dict, known: Colleagues, run_id: int, trend_runs: Iterable[int]) -> None:
    """Blank, in an employee's ``report`` (see :func:`appraisal.report.employee_report`), the means that pool
    too few colleagues: the composite's and each metric's, in the run and along the trend, and the case mix's by
    category; mark the report."""
    withheld = False

    def blank(row: dict, run: int, metric: str | None) -> None:
        nonlocal withheld
        for scope in ("team", "org"):
            if row.get(f"{scope}_mean") is not None and known.thin(run, scope, metric):
                row[f"{scope}_mean"], withheld = None, True

    blank(report, run_id, None)
    for row in report["metrics"]:
        blank(row, run_id, row["name"])
    trend = report["trend"]
    for series, metric in [(trend["composite"], None), *((s, name) for name, s in trend["metrics"].items())]:
        for scope in ("team", "org"):
            for index, run in enumerate(trend_runs):
                if series[scope][index] is not None and known.thin(run, scope, metric):
                    series[scope][index], withheld = None, True
    withheld = _withhold_thin_categories(report) or withheld
    report["means_withheld"], report["min_colleagues"] = withheld, MIN_COLLEAGUES


def _withhold_thin_categories(report: dict) -> bool:
    """Blank the organisation's figures of the case mix's categories that pool too few colleagues, what the
    organisation would score on the mix, and the benchmarks of training needs in those categories."""
    mix = report.get("case_mix")
    if not mix:
        return False
    thin = set()
    rows = []
    for row in mix["categories"]:
        people = row.get("org_people")
        # Runs before org_people was stored count items: each colleague has one at least.
        others = people - 1 if people is not None else row["org_n"] - row["n"]
        if others < MIN_COLLEAGUES:
            thin.add(row["category"])
            row = {**row, "org_value": None, "gap": None}
        rows.append(row)
    if not thin:
        return False
    report["case_mix"] = {**mix, "categories": rows, "expected": None, "difference": None}
    report["training_needs"] = [
        {**need, "benchmark": None, "gap": None} if need["area"] == "ticket_category" and need["name"] in thin
        else need for need in report["training_needs"]]
    return True
