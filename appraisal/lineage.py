"""Lineage: for a metric of a run, the formula with its parameters and inputs, and the items behind it."""
from __future__ import annotations

import inspect
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Employee, Feedback
from core.plugins import get_plugins
from core.scoring import ScoringRule

from .employment import counted_from
from .guidelines import metric_bounds
from .models import AppraisalResult, AppraisalRun, MetricResult


def _items_filter(session: Session, run: AppraisalRun, result: MetricResult, rule):
    # From the moment they joined, when that came after the period began: as the run counts them.
    since = counted_from(run.period_start, session.get(Employee, result.employee_id).started_on)
    return (Feedback.employee_id == result.employee_id, Feedback.kind.in_(rule.kinds),
            Feedback.status == "accepted", Feedback.value.is_not(None),
            Feedback.occurred_at >= since, Feedback.occurred_at < run.period_end,
            Feedback.id <= (run.feedback_watermark or 0))


class RuleNotLoaded(LookupError):
    """The run has the metric, but no loaded plugin provides its scoring rule any more."""


def metric_lineage(session: Session, run_id: int, employee_id: int, metric: str, *, limit: int = 100,
                   offset: int = 0) -> dict[str, Any]:
    """Explain one metric of one employee in one run.

    The items are those that count today among the items the run could see (ids up to its watermark);
    ``items_now`` differs from the stored ``n`` only if a flag or dispute was decided after the run.

    :raises LookupError: when the run has no such metric for that employee.
    :raises RuleNotLoaded: when it has, but the metric's scoring rule is no longer loaded.
    """
    run = session.get(AppraisalRun, run_id)
    result = session.scalar(select(MetricResult).where(
        MetricResult.run_id == run_id, MetricResult.employee_id == employee_id, MetricResult.metric == metric))
    if run is None or result is None:
        raise LookupError(f"run {run_id} has no {metric} for employee {employee_id}")
    spec = next(m for m in run.guideline.document["metrics"] if m["rule"] == metric)
    rule = get_plugins().scoring_rules.get(metric)
    if rule is None:
        raise RuleNotLoaded(f"how {metric} was worked out cannot be shown: its scoring rule is not loaded now (its "
                            f"plugin is blocked or uninstalled); the value run {run_id} stored stands")
    document = run.guideline.document
    points = rule.points(Feedback, dict(spec["params"]))
    # An item the rule scores NULL (another section's, for mystery_section) counts in no metric's n.
    where = (*_items_filter(session, run, result, rule), points.is_not(None))
    items_now = session.scalar(select(func.count()).select_from(Feedback).where(*where))
    rows = session.execute(
        select(Feedback.id, Feedback.channel, Feedback.external_id, Feedback.kind, Feedback.occurred_at,
               Feedback.value, Feedback.scale_min, Feedback.scale_max, Feedback.attribution_policy,
               points.label("points"))
        .where(*where).order_by(Feedback.occurred_at, Feedback.id).limit(limit).offset(offset)).all()
    dialect = session.get_bind().dialect
    k = document["shrinkage_strength"]
    return {
        "run": {"id": run.id, "period": [run.period_start.isoformat(), run.period_end.isoformat()],
                "guideline_version": run.guideline.version, "feedback_watermark": run.feedback_watermark},
        "employee_id": employee_id,
        "metric": metric,
        "formula": {
            "rule": metric,
            "title": rule.title,
            "description": inspect.getdoc(type(rule)) or "",
            "kinds": list(rule.kinds),
            "params": spec["params"],
            # What a parameter left to the rule comes to, as the rule describes it ("default 2, 3 on scales of
            # ten or more points"): "the rule's default" alone told the reader nothing.
            "param_defaults": _described_defaults(rule, spec["params"]),
            "points_sql": str(points.compile(dialect=dialect, compile_kwargs={"literal_binds": True})),
            "value": "mean of the items' points (SUM / COUNT over accepted items in the period)",
            "interval": _interval_name(rule, spec["params"]) + f" at {document['confidence_level']:.0%}",
            "shrinkage": f"(n*value + k*prior)/(n + k), the prior being the team's mean (the organisation's for "
                         f"someone in no team, or with no one else in it with items), with k = {k:g}",
            "display": rule.display_for(spec["params"]),
            "min_n": spec["min_n"] or document["min_sample"],
            "bounds": list(metric_bounds(spec, rule) or ()),
            "direction": rule.direction,
        },
        "result": {"n": result.n, "value": result.value, "ci": [result.ci_low, result.ci_high],
                   "sufficient": result.sufficient, "team_mean": result.team_mean, "org_mean": result.org_mean,
                   # What the value was shrunk toward, as the engine chose it (appraisal.engine.score_period).
                   "prior": result.team_mean if result.team_mean is not None else result.org_mean,
                   "prior_of": "team" if result.team_mean is not None else "organisation",
                   "shrunk": result.shrunk,
                   "normalised": result.normalised, "weight": result.weight, "target": result.target,
                   "attainment": result.attainment,
                   # Whether the weight counted in a composite: with too little of the weight sufficient, none.
                   "composite": session.scalar(select(AppraisalResult.composite).where(
                       AppraisalResult.run_id == run_id, AppraisalResult.employee_id == employee_id))},
        "shrinkage_strength": k,
        "items_now": items_now,
        "items": [{"id": r.id, "channel": r.channel, "external_id": r.external_id, "kind": r.kind,
                   "occurred_at": r.occurred_at.isoformat(), "value": r.value,
                   "scale": [r.scale_min, r.scale_max], "attribution": r.attribution_policy,
                   "points": float(r.points)} for r in rows],
        "limit": limit,
        "offset": offset,
    }


def _described_defaults(rule, params) -> dict[str, str]:
    """For each parameter given as None (the rule's default), the rule's own words for it, where it has some."""
    schema = rule.params_schema() if getattr(rule, "params_schema", None) else None
    if schema is None:
        return {}
    return {key: schema.fields[key].metadata["description"] for key, value in (params or {}).items()
            if value is None and key in schema.fields and schema.fields[key].metadata.get("description")}


def _interval_name(rule, params) -> str:
    """How the engine works the metric's interval out (appraisal.engine.Appraisal._interval), in words."""
    if type(rule).interval is not ScoringRule.interval:  # the rule's own: its docstring's first line names it
        own = (type(rule).interval.__doc__ or "").strip().splitlines()
        return own[0].rstrip(".") if own else f"{rule.title}'s own interval"
    if rule.is_proportion(params):
        return "Wilson score interval"
    return "Student's t interval from the sum of squares (answers all alike: half an answer at each end of the scale joins the spread)"
