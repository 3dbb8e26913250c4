"""Which benchmark means an employee may read: none that is one colleague's own figure.

A team mean that pools the reader and one colleague, or that colleague alone (a team's only mystery visit, say),
tells the reader what that colleague scored. What an employee reads of their team and organisation is held back
where the mean pools fewer than :data:`MIN_COLLEAGUES` people besides them; managers and HR, who read each
person's figures anyway, see every mean. Counted in the database, in three statements whatever the team's size.
"""
from __future__ import annotations

import re
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
    reads: people with items in a metric (its means pool their items), people ranked (the composite's means
    average theirs)."""
    others = and_(AppraisalResult.run_id.in_(run_ids), AppraisalResult.employee_id != employee_id)
    metric = session.execute(
        select(MetricResult.run_id, MetricResult.metric, AppraisalResult.team_id, func.count())
        .join(AppraisalResult, and_(AppraisalResult.run_id == MetricResult.run_id,
                                    AppraisalResult.employee_id == MetricResult.employee_id))
        .where(others, MetricResult.n > 0)
        .group_by(MetricResult.run_id, MetricResult.metric, AppraisalResult.team_id)).all()
    # The composite's means average the ranked: someone with a composite but too little of the period to rank
    # (the guideline's part_period) is not in them.
    composite = session.execute(
        select(AppraisalResult.run_id, None, AppraisalResult.team_id, func.count())
        .where(others, AppraisalResult.rank.is_not(None))
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


def thin_pool(people: int | None) -> bool:
    """Whether an organisation figure pooled over ``people`` (the reader among them) has fewer than
    :data:`MIN_COLLEAGUES` others behind it. Not known (stored before the count was kept) counts as thin."""
    return people is None or people - 1 < MIN_COLLEAGUES


#: Training needs measured against an organisation mean (rather than a target): those a thin pool can betray.
POOLED_AREAS = ("ticket_category", "mystery_section")


def _withhold_thin_categories(report: dict) -> bool:
    """Blank the organisation's figures of the case mix's categories that pool too few colleagues, what the
    organisation would score on the mix, and the benchmarks of training needs measured against a thin pool."""
    withheld = False
    mix = report.get("case_mix")
    if mix:
        rows = [{**row, "org_value": None, "gap": None} if thin_pool(row.get("org_people")) else row
                for row in mix["categories"]]
        if rows != mix["categories"]:
            report["case_mix"] = {**mix, "categories": rows, "expected": None, "difference": None}
            withheld = True
    needs = []
    for need in report["training_needs"]:
        if need["area"] in POOLED_AREAS and thin_pool(need.get("org_people")):
            need, withheld = {**need, "benchmark": None, "gap": None}, True
            report.setdefault("withheld_needs", []).append(need["name"])
        needs.append(need)
    report["training_needs"] = needs
    return withheld


def withhold_thin_reasons(report: dict) -> None:
    """Take the figure out of the stored reasons of training recommendations whose need's benchmark
    :func:`withhold_thin_means` left out: written when the run was made, they name it."""
    names = report.get("withheld_needs") or ()
    for recommendation in report["recommendations"]:
        reason = recommendation["reason"] or ""
        if recommendation["kind"] == "training" and any(reason.startswith(f"training on {name}") for name in names):
            recommendation["reason"] = _FIGURE.sub(", below the org's mean (not shown: too few colleagues)", reason)


_FIGURE = re.compile(r" against the org's mean -?\d+(?:\.\d+)?")
