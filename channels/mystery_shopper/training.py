"""Training needs from mystery reports: the sections where an employee scores well below the organisation.

Read from the section results stored at approval, in one GROUP BY per appraisal run. A section result counts
when its report is approved, was visited in the period, and its ``mystery_section`` feedback item is accepted
and within the run's watermark: the run's snapshot, so computing a run again finds the same needs, and an
item an integrity check holds back counts here no more than in the metrics.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from appraisal.aggregates import counted_for, joined_during
from core.models import Feedback

from .models import Assignment, Report, SectionResult

AREA = "mystery_section"


@dataclass(frozen=True)
class SectionTotal:
    """One employee's scores in one section: their sum (0-1 each) and how many reports."""

    employee_id: int
    section: str
    title: str
    total: float
    n: int


def section_totals(session: Session, period_start, period_end, up_to: int) -> list[SectionTotal]:
    """Every employee's section scores over the approved reports visited in [period_start, period_end).

    The employee is who served (a location's report names them), else the assignment's employee, as the
    report's feedback says; a visit from before they joined counts for nobody, as the run counts its item.
    Sections that did not apply to a report (score None) are left out.
    """
    employee = counted_for(func.coalesce(Report.served_by, Assignment.employee_id), Report.visited_at,
                           joined_during(session, period_start, period_end))
    # The item record_results ingested for this section of this report ("report-<id>:<section>").
    item = literal("report-") + cast(Report.id, String) + literal(":") + SectionResult.section
    query = (select(employee, SectionResult.section, func.max(SectionResult.title), func.sum(SectionResult.score),
                    func.count(SectionResult.score))
             .join(Report, Report.id == SectionResult.report_id)
             .join(Assignment, Assignment.id == Report.assignment_id)
             .join(Feedback, and_(Feedback.channel == "mystery_shopper", Feedback.external_id == item))
             .where(Report.status == "approved", SectionResult.score.is_not(None),
                    Report.visited_at >= period_start, Report.visited_at < period_end,
                    Feedback.kind == "mystery_section", Feedback.status == "accepted", Feedback.id <= up_to)
             .group_by(employee, SectionResult.section))
    return [SectionTotal(employee_id, section, title, float(total), int(n))
            for employee_id, section, title, total, n in session.execute(query) if n]


def weak_sections(totals: Iterable[SectionTotal], employee_ids: Iterable[int], settings: Mapping[str, Any]
                  ) -> dict[int, list[dict]]:
    """The sections each employee scores ``settings["gap"]`` points or more below the organisation's mean.

    Scores are in points, 0-100. The organisation's mean of a section is the mean of its scores over every
    report (whoever served, the employee's own reports included), as each employee's is over theirs. A
    section needs ``settings["min_n"]`` of the employee's reports before it is a need.
    """
    totals = list(totals)
    pooled: dict[str, tuple[float, int]] = {}
    people: dict[str, int] = {}  # whose reports each section's mean pools: an employee reads none of one colleague
    for row in totals:
        total, n = pooled.get(row.section, (0.0, 0))
        pooled[row.section] = (total + row.total, n + row.n)
        people[row.section] = people.get(row.section, 0) + (row.employee_id is not None)
    wanted = set(employee_ids)
    needs: dict[int, list[dict]] = {}
    # Rows of nobody (a visit from before someone joined) pool in the organisation's means and come last.
    for row in sorted(totals, key=lambda r: (r.employee_id is None, r.employee_id or 0, r.section)):
        if row.employee_id not in wanted or row.n < settings["min_n"]:
            continue
        total, n = pooled[row.section]
        value, benchmark = 100 * row.total / row.n, 100 * total / n
        if value - benchmark < -settings["gap"]:
            needs.setdefault(row.employee_id, []).append(
                {"area": AREA, "name": row.title, "metric": AREA, "value": value, "benchmark": benchmark,
                 "n": row.n, "gap": value - benchmark, "org_people": people[row.section]})
    return needs


def training_needs(session: Session, period_start, period_end, up_to: int, employee_ids: Iterable[int],
                   settings: Mapping[str, Any]) -> dict[int, list[dict]]:
    """The ``training_needs`` hook: each employee's weak mystery-report sections in the period."""
    return weak_sections(section_totals(session, period_start, period_end, up_to), employee_ids, settings)
