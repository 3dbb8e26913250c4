"""Reading a run's results back: one row per employee with their metrics and recommendations.

Three queries whatever the size of the organisation: results with names, metric results, recommendations.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from core.models import Employee, Team

from .employment import days_worked
from .models import AppraisalResult, AppraisalRun, MetricResult
from .periods import period_of
from .report import period_recommendations

#: What a result row says of each recommendation; ``run_id`` and ``guideline_version`` name the run that
#: made it, an earlier run of the period for what was decided before a re-run.
#: What exports give of each recommendation: enough for payroll to tell what was asked, granted and decided.
RECOMMENDATION_KEYS = ("id", "kind", "amount", "requested_amount", "status", "reason", "source", "run_id",
                       "guideline_version", "decided_at", "decided_by", "decision_note")


def run_rows(session: Session, run: AppraisalRun, *, employees: Select | None = None) -> list[dict[str, Any]]:
    """Every employee's result in ``run``, best rank first, then by name.

    :param employees: a SELECT of employee ids to narrow the rows to (in SQL); None for everyone.
    """
    team = aliased(Team)

    def narrowed(query, column):
        return query if employees is None else query.where(column.in_(employees))

    results = session.execute(narrowed(
        select(AppraisalResult, Employee.name, Employee.email, team.name, Employee.started_on, Employee.left_on)
        .join(Employee, Employee.id == AppraisalResult.employee_id)
        .outerjoin(team, team.id == AppraisalResult.team_id)
        .where(AppraisalResult.run_id == run.id), AppraisalResult.employee_id)).all()
    metrics: dict[int, dict[str, MetricResult]] = {}
    for metric in session.scalars(narrowed(select(MetricResult).where(MetricResult.run_id == run.id),
                                           MetricResult.employee_id)
                                  .order_by(MetricResult.employee_id, MetricResult.id)):
        metrics.setdefault(metric.employee_id, {})[metric.metric] = metric
    # What stands for the period, whichever of its runs decided it: after a re-run, what an earlier run had
    # approved is not issued again, and would otherwise vanish from the results (as on the report pages).
    appraised = narrowed(select(AppraisalResult.employee_id).where(AppraisalResult.run_id == run.id),
                         AppraisalResult.employee_id)
    recommendations = period_recommendations(session, run, appraised)
    order = [m["rule"] for m in run.guideline.document["metrics"]]
    period = period_of(run)
    rows = []
    for result, name, email, team_name, started_on, left_on in results:
        mine = metrics.get(result.employee_id, {})
        rows.append({
            "employee_id": result.employee_id, "employee": name, "email": email, "team": team_name,
            # Payroll reads these: someone who joined or left in the period worked only part of it.
            "started_on": started_on, "left_on": left_on,
            "days_worked": days_worked(period, started_on, left_on),
            "state": result.state, "composite": result.composite, "weight_covered": result.weight_covered,
            "rank": result.rank, "percentile": result.percentile, "peers": result.peers,
            "team_mean": result.team_mean, "org_mean": result.org_mean,
            "previous_composite": result.previous_composite, "change": result.change,
            "targets": result.targets_state, "attainment_streak": result.attainment_streak,
            "open_flags": result.open_flags,
            "metrics": {name: {"value": m.value, "n": m.n, "ci": [m.ci_low, m.ci_high], "sufficient": m.sufficient,
                               "shrunk": m.shrunk, "team_mean": m.team_mean, "org_mean": m.org_mean,
                               "previous": m.previous_value, "change": m.change, "target": m.target,
                               "attainment": m.attainment}
                        for name in order if (m := mine.get(name)) is not None},
            "case_mix": result.case_mix,
            "training_needs": result.training_needs,
            "recommendations": [{key: r[key] for key in RECOMMENDATION_KEYS}
                                for r in recommendations.get(result.employee_id, [])],
        })
    rows.sort(key=lambda row: (row["rank"] is None, row["rank"] or 0, row["employee"], row["employee_id"]))
    return rows
