"""An employee's report and a manager's team report on a completed run: one content, for the web and e-mail.

Each is built in a fixed number of queries whatever the size of the team, the organisation or the employee's
caseload. An employee's report holds their own numbers and the team and organisation averages the run
stored beside them, never a colleague's row.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from core.local_time import day_of
from core.models import Dispute, Employee, Feedback, Team, User, still_open

from .comments import employee_comments, positive, shown_comment
from .disclosure import colleagues, withhold_thin_means, withhold_thin_reasons
from .employment import counted_from, part_worked
from .guideline_schema import part_period
from .guidelines import current_guideline, rule_params
from .incentives import standing_key
from .models import (
    AppraisalResult,
    AppraisalRun,
    Guideline,
    MetricResult,
    Recommendation,
)
from .periods import days_of, period_of, run_made_early, short_label

#: How many periods the trend covers, the report's own included.
TREND_PERIODS = 8
#: The newest items listed (with a dispute action) in an employee's own report.
ITEM_LIMIT = 300
#: Who reads a report: the employee (the comment policy applies, what was approved for the period only) or
#: their manager or HR (comments as written, every recommendation with its status).
AUDIENCES = ("employee", "manager")
#: How reports name the group of people in no team.
NO_TEAM = "No team"


# --- runs -----------------------------------------------------------------------------------------------------


def completed_run(session: Session, run_id: int) -> AppraisalRun | None:
    """The completed run ``run_id`` with its guideline, or None."""
    return session.scalar(select(AppraisalRun).options(joinedload(AppraisalRun.guideline))
                          .where(AppraisalRun.id == run_id, AppraisalRun.status == "completed"))


def latest_completed_run(session: Session, kind: str = "week") -> AppraisalRun | None:
    """The completed run of the latest period of ``kind``; of a period run twice, the later run."""
    return session.scalar(select(AppraisalRun).options(joinedload(AppraisalRun.guideline))
                          .where(AppraisalRun.status == "completed", AppraisalRun.period_kind == kind)
                          .order_by(AppraisalRun.period_start.desc(), AppraisalRun.id.desc()).limit(1))


def runs_of_employee(session: Session, employee_id: int, limit: int = 26) -> list[dict[str, Any]]:
    """The newest periods with a completed run holding a result for the employee, for choosing which report to
    read: of a period run more than once, its latest run, which replaced the others."""
    latest = (select(func.max(AppraisalRun.id))
              .join(AppraisalResult, AppraisalResult.run_id == AppraisalRun.id)
              .where(AppraisalRun.status == "completed", AppraisalResult.employee_id == employee_id)
              .group_by(AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end))
    rows = session.execute(
        select(AppraisalRun.id, AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end)
        .where(AppraisalRun.id.in_(latest))
        .order_by(AppraisalRun.period_start.desc(), AppraisalRun.id.desc()).limit(limit))
    return [{"id": r.id, "title": period_title(r.period_kind, r.period_start, r.period_end)} for r in rows]


def replaced_for(session: Session, run: AppraisalRun, employee_id: int) -> bool:
    """Whether a later completed run of ``run``'s period holds a result for the employee: it replaced this one
    for them (someone merely absent from ``run``, a newcomer, is not told so)."""
    return session.scalar(
        select(AppraisalRun.id).join(AppraisalResult, AppraisalResult.run_id == AppraisalRun.id)
        .where(AppraisalRun.period_kind == run.period_kind, AppraisalRun.period_start == run.period_start,
               AppraisalRun.period_end == run.period_end, AppraisalRun.id > run.id,
               AppraisalRun.status == "completed", AppraisalResult.employee_id == employee_id).limit(1)) is not None


def period_title(kind: str, start: datetime, end: datetime) -> str:
    """``week 2 to 8 November 2026``: the period's days, both included."""
    first, last = days_of(start, end)
    if (first.year, first.month) == (last.year, last.month):
        opening = f"{first.day}"
    elif first.year == last.year:
        opening = f"{first.day} {first:%B}"
    else:
        opening = f"{first.day} {first:%B %Y}"
    return f"{kind} {opening} to {last.day} {last:%B %Y}"


def describe_run(run: AppraisalRun) -> dict[str, Any]:
    title = period_title(run.period_kind, run.period_start, run.period_end)
    return {"id": run.id, "kind": run.period_kind, "start": run.period_start, "end": run.period_end,
            "title": title, "heading": title[0].upper() + title[1:], "guideline_version": run.guideline.version,
            "currency": run.guideline.document["incentives"]["budget"]["currency"],
            # Reports say over whom ranks run, and how sure an interval is, as this run's guideline set them.
            "ranking_scope": run.guideline.document.get("ranking_scope", "org"),
            "confidence": f"{100 * run.guideline.document.get('confidence_level', 0.95):g}%",
            # How much of the weight needs enough items for a composite: "40% had enough" told half the story.
            "min_weight": run.guideline.document.get("composite_min_weight", 50),
            # As the approvals page and the API say it: a run made before its period ended misses what came later.
            "early": run_made_early(run)}


def trend_runs(session: Session, run: AppraisalRun, periods: int = TREND_PERIODS) -> list[tuple[int, datetime]]:
    """``run`` and the completed runs of up to ``periods - 1`` earlier periods of its kind, oldest first.

    A period run more than once counts once, with its latest completed run (the one that stands).
    """
    earlier = session.execute(
        select(func.max(AppraisalRun.id), AppraisalRun.period_start)
        .where(AppraisalRun.status == "completed", AppraisalRun.period_kind == run.period_kind,
               AppraisalRun.period_start < run.period_start)
        .group_by(AppraisalRun.period_start, AppraisalRun.period_end)
        .order_by(AppraisalRun.period_start.desc()).limit(periods - 1)).all()
    return [(run_id, start) for run_id, start in reversed(earlier)] + [(run.id, run.period_start)]


# --- metrics as the guideline names them ----------------------------------------------------------------------


def metric_display(document: Mapping[str, Any], rule) -> str:
    """How a metric's values are shown under ``document`` (CES is a percentage in top-box mode)."""
    return rule.display_for(rule_params(document, rule)) if rule is not None else "number"


def metric_columns(run: AppraisalRun, scoring_rules: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The run's metrics in guideline order, with each rule's title, display and minimum sample."""
    document = run.guideline.document
    columns = []
    for entry in document["metrics"]:
        rule = scoring_rules.get(entry["rule"])
        columns.append({"name": entry["rule"], "title": getattr(rule, "title", entry["rule"]),
                        "display": metric_display(document, rule),
                        "direction": getattr(rule, "direction", "higher"), "weight": entry["weight"],
                        "min_n": entry.get("min_n") or document["min_sample"]})
    return columns


def _unranked_below(run: AppraisalRun, result: AppraisalResult) -> float | None:
    """For someone the run left unranked with a composite (too little of the period worked, under the guideline's
    ``part_period``), the share of the period it asked; None for anyone else. Read from the run, not worked out
    again: a joining day corrected since does not change what the run did."""
    if result.composite is None or result.rank is not None:
        return None
    return part_period(run.guideline.document)["min_share_worked"]


def _metric(column: Mapping[str, Any], m: MetricResult | None) -> dict[str, Any]:
    row = {**column, "value": None, "n": 0, "ci": (None, None), "sufficient": False, "team_mean": None,
           "org_mean": None, "previous": None, "change": None, "target": None, "attainment": None}
    if m is not None:
        row.update(value=m.value, n=m.n, ci=(m.ci_low, m.ci_high), sufficient=m.sufficient,
                   team_mean=m.team_mean, org_mean=m.org_mean, previous=m.previous_value, change=m.change,
                   target=m.target, attainment=m.attainment)
    return row


def _needs(result: AppraisalResult, scoring_rules: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The result's training needs, each with the ``label`` a reader sees: a metric's title, not its slug."""
    return [{**need, "label": getattr(scoring_rules.get(need["name"]), "title", need["name"])
             if need.get("area") == "metric" else need["name"]} for need in result.training_needs or ()]


def _standing(result: AppraisalResult | None, scoring_rules: Mapping[str, Any]) -> dict[str, Any]:
    if result is None:
        return {"appraised": False, "state": None, "composite": None, "weight_covered": None, "rank": None,
                "percentile": None, "peers": 0, "team_mean": None, "org_mean": None,
                "previous_composite": None, "change": None, "targets_state": None, "attainment_streak": 0,
                "open_flags": 0, "training_needs": []}
    return {"appraised": True, "state": result.state, "composite": result.composite,
            "weight_covered": result.weight_covered, "rank": result.rank, "percentile": result.percentile,
            "peers": result.peers, "team_mean": result.team_mean, "org_mean": result.org_mean,
            "previous_composite": result.previous_composite, "change": result.change,
            "targets_state": result.targets_state, "attainment_streak": result.attainment_streak,
            "open_flags": result.open_flags, "training_needs": _needs(result, scoring_rules)}


def _case_mix(result: AppraisalResult | None, run: AppraisalRun, scoring_rules: Mapping[str, Any]
              ) -> dict[str, Any] | None:
    """The employee's case mix as the run stored it, with its metric's title and display; None without one."""
    mix = dict(result.case_mix or {}) if result is not None else {}
    if not mix.get("categories"):
        return None
    rule = scoring_rules.get(mix["metric"])
    document = run.guideline.document
    entry = next((m for m in document["metrics"] if m["rule"] == mix["metric"]), {})
    # The metric's own minimum sample: on fewer items, a gap of 36.6 was told as a finding.
    min_n = entry.get("min_n") or document["min_sample"]
    return {**mix, "title": getattr(rule, "title", mix["metric"]), "display": metric_display(document, rule),
            "min_n": min_n, "sufficient": (mix.get("n") or 0) >= min_n}


def _recommendation(r: Recommendation, guideline_version: int) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "amount": r.amount, "requested_amount": r.requested_amount,
            "status": r.status, "reason": r.reason, "source": r.source, "needs_approval": r.needs_approval,
            "decided_at": r.decided_at, "decided_by": r.decided_by,
            "decision_note": r.decision_note, "run_id": r.run_id, "guideline_version": guideline_version,
            # Rejected by no person: superseded by a later run of the period, or a bonus the cap left unfunded.
            "automatic": r.status == "rejected" and r.decided_by is None}


def period_recommendations(session: Session, run: AppraisalRun, employee_ids: Iterable[int] | Select,
                           *, audience: str = "manager") -> dict[int, list[dict[str, Any]]]:
    """What stands for each employee for ``run``'s period, whichever run of the period decided it, in one query.

    Everything approved on any run of the period, each with the run and guideline version it was approved
    on; a recognition, coaching or training approved again by a later run (as re-runs did before they left
    out what was approved) is listed once. For a manager or HR, also what a person rejected on any run of the
    period, and ``run``'s own proposals and automatic rejections; but not a bonus top-up the cap left at
    0.00 for someone whose bonus was approved on another run: that bonus stands, and nobody rejected them.

    :param employee_ids: ids, or a SELECT of them.
    :param audience: ``employee`` for what was approved only.
    :return: per employee with any, their recommendations in the order they were made.
    """
    shown = Recommendation.status == "approved"
    if audience != "employee":
        shown = or_(shown, Recommendation.run_id == run.id,
                    and_(Recommendation.status == "rejected", Recommendation.decided_by.is_not(None)))
    rows = session.execute(
        select(Recommendation, Guideline.version)
        .join(AppraisalRun, AppraisalRun.id == Recommendation.run_id)
        .join(Guideline, Guideline.id == AppraisalRun.guideline_id)
        .where(AppraisalRun.period_start == run.period_start, AppraisalRun.period_end == run.period_end,
               Recommendation.employee_id.in_(employee_ids), shown)
        .order_by(Recommendation.employee_id, Recommendation.id)).all()
    paid_before = {r.employee_id for r, _ in rows
                   if r.kind == "bonus" and r.status == "approved" and r.run_id != run.id}
    first_approved: dict[tuple, int] = {}
    standing: dict[int, list[dict[str, Any]]] = {}
    for r, version in rows:
        if r.status == "approved" and r.kind != "bonus":
            key = (r.employee_id, *standing_key(r.kind, r.source, r.reason))
            if first_approved.setdefault(key, r.run_id) != r.run_id:
                continue
        elif (r.kind == "bonus" and r.status == "rejected" and r.decided_by is None and not r.amount
              and r.employee_id in paid_before):
            continue
        standing.setdefault(r.employee_id, []).append(_recommendation(r, version))
    return standing


# --- an employee's report -------------------------------------------------------------------------------------


def employee_report(session: Session, run: AppraisalRun, employee_id: int, scoring_rules: Mapping[str, Any],
                    *, audience: str = "employee", with_items: bool = False) -> dict[str, Any] | None:
    """Build one employee's report on ``run`` (a completed run, its guideline loaded); None without the employee.

    :param audience: ``employee`` when the employee reads it (the comment policy of the guideline in force
        applies; only what was approved for the period), ``manager`` for their manager or HR. Either way the
        recommendations are the period's, whichever of its runs decided them (:func:`period_recommendations`).
    :param with_items: also list the employee's items of the period with their disputes (the web page).
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience: one of {', '.join(AUDIENCES)}")
    row = session.execute(
        select(Employee.id, Employee.name, Employee.email, Employee.active, Employee.started_on, Employee.left_on,
               AppraisalResult, Team.name)
        .select_from(Employee)
        .outerjoin(AppraisalResult, and_(AppraisalResult.employee_id == Employee.id,
                                         AppraisalResult.run_id == run.id))
        .outerjoin(Team, Team.id == func.coalesce(AppraisalResult.team_id, Employee.team_id))
        .where(Employee.id == employee_id)).first()
    if row is None:
        return None
    _, name, email, active, started_on, left_on, result, team_name = row
    columns = metric_columns(run, scoring_rules)
    mine = {m.metric: m for m in session.scalars(
        select(MetricResult).where(MetricResult.run_id == run.id, MetricResult.employee_id == employee_id))}
    metrics = [_metric(column, mine.get(column["name"])) for column in columns]
    report = {
        "run": describe_run(run), "audience": audience,
        "employee": {"id": employee_id, "name": name, "email": email, "active": active, "team": team_name,
                     "started_on": started_on, "left_on": left_on,
                     "part_worked": part_worked(period_of(run), started_on, left_on, _unranked_below(run, result))
                     if result else None,
                     # left before the run was made, which then offered them nothing (see runs.propose)
                     "left_before_run": not active and left_on is not None and left_on <= day_of(run.created_at)},
        **_standing(result, scoring_rules),
        "metrics": metrics,
        "targets": [m for m in metrics if m["target"] is not None],
        "trend": _employee_trend(session, run, employee_id, columns),
        "case_mix": _case_mix(result, run, scoring_rules),
    }
    policy = "all"
    report["means_withheld"] = False
    if audience == "employee":
        run_ids = report["trend"]["run_ids"]
        withhold_thin_means(report, colleagues(session, run_ids, employee_id), run.id, run_ids)
        guideline = current_guideline(session) or run.guideline
        policy = guideline.document.get("comment_visibility", "redacted")
    since = counted_from(run.period_start, started_on)  # not what was credited to them before they joined
    comments = employee_comments(session, employee_id, since, run.period_end, policy)
    report["comments"] = {"policy": policy, "praise": [c for c in comments if c["positive"]],
                          "work_on": [c for c in comments if not c["positive"]]}
    report["recommendations"] = period_recommendations(session, run, [employee_id], audience=audience).get(
        employee_id, [])
    if audience == "employee":
        withhold_thin_reasons(report)
    if with_items:
        report["feedback_items"], report["feedback_total"] = _items(session, run, employee_id, policy, since)
        report["disputes"] = _disputes(session, run, employee_id, since, own_only=audience == "employee")
    return report


def _employee_trend(session: Session, run: AppraisalRun, employee_id: int,
                    columns: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    periods = trend_runs(session, run)
    ids = [run_id for run_id, _ in periods]
    composites = {r.run_id: r for r in session.execute(
        select(AppraisalResult.run_id, AppraisalResult.composite, AppraisalResult.team_mean,
               AppraisalResult.org_mean)
        .where(AppraisalResult.run_id.in_(ids), AppraisalResult.employee_id == employee_id))}
    values: dict[tuple[int, str], Any] = {(m.run_id, m.metric): m for m in session.execute(
        select(MetricResult.run_id, MetricResult.metric, MetricResult.value, MetricResult.sufficient,
               MetricResult.n, MetricResult.team_mean, MetricResult.org_mean)
        .where(MetricResult.run_id.in_(ids), MetricResult.employee_id == employee_id))}

    def series(source, attribute, keys):
        return [getattr(source[key], attribute) if key in source else None for key in keys]

    trend = {"labels": [short_label(run.period_kind, start) for _, start in periods], "run_ids": ids,
             "composite": {"you": series(composites, "composite", ids), "team": series(composites, "team_mean", ids),
                           "org": series(composites, "org_mean", ids)},
             "metrics": {}}
    for column in columns:
        keys = [(run_id, column["name"]) for run_id in ids]
        # Too few items is no number: the line breaks rather than show a value that would not rank.
        trend["metrics"][column["name"]] = {
            "title": column["title"], "display": column["display"],
            "you": [values[k].value if k in values and values[k].sufficient else None for k in keys],
            "n": [values[k].n if k in values else 0 for k in keys],
            "team": series(values, "team_mean", keys), "org": series(values, "org_mean", keys)}
    return trend


def _items(session: Session, run: AppraisalRun, employee_id: int, policy: str, since: datetime
           ) -> tuple[list[dict[str, Any]], int]:
    """The employee's items of the period from ``since`` (:func:`counted_from`), newest first, with their comment
    as the policy shows it."""
    in_period = (Feedback.employee_id == employee_id, Feedback.occurred_at >= since,
                 Feedback.occurred_at < run.period_end)
    total = session.scalar(select(func.count()).select_from(Feedback).where(*in_period))
    rows = session.execute(
        select(Feedback.id, Feedback.occurred_at, Feedback.channel, Feedback.kind, Feedback.value,
               Feedback.scale_min, Feedback.scale_max, Feedback.status, Feedback.comment, Feedback.ticket_ref,
               Feedback.payload, positive().label("positive"), still_open().label("still_open"))
        .where(*in_period).order_by(Feedback.occurred_at.desc(), Feedback.id.desc()).limit(ITEM_LIMIT)).all()
    items = [{"id": r.id, "occurred_at": r.occurred_at, "channel": r.channel, "kind": r.kind, "value": r.value,
              "scale": (r.scale_min, r.scale_max), "status": r.status, "ticket_ref": r.ticket_ref,
              "positive": bool(r.positive), "comment": shown_comment(r.comment, bool(r.positive), policy),
              # A channel may name what an item is about (a mystery report's section, say), or say that a
              # ticket's timing is of a ticket still open (channels/post_ticket_survey/overdue.py).
              "about": (r.payload or {}).get("title") if isinstance(r.payload, dict) else None,
              "still_open": bool(r.still_open)}
             for r in rows]
    return items, total


def _disputes(session: Session, run: AppraisalRun, employee_id: int, since: datetime, *, own_only: bool
               ) -> list[dict[str, Any]]:
    """Disputes on items of the period that the employee raised, and (``own_only`` False, for their
    managers) those on items credited to them now.

    An employee sees only their own disputes: an item upheld and moved to them carries a colleague's reason.
    """
    accounts = select(User.id).where(User.employee_id == employee_id)
    whose = Dispute.raised_by.in_(accounts)
    if not own_only:
        whose = or_(whose, Feedback.employee_id == employee_id)
    rows = session.execute(
        select(Dispute.id, Dispute.feedback_id, Dispute.reason, Dispute.status, Dispute.outcome,
               Dispute.created_at, Dispute.decided_at, Feedback.kind, Feedback.occurred_at, Feedback.value,
               Feedback.scale_min, Feedback.scale_max, still_open().label("still_open"))
        .join(Feedback, Feedback.id == Dispute.feedback_id)
        .where(whose, Feedback.occurred_at >= since, Feedback.occurred_at < run.period_end)
        .order_by(Dispute.created_at.desc(), Dispute.id.desc())).all()
    # The item as the list of items shows it (its kind, day and answer): a bare id told nobody which it was.
    return [{**r._mapping, "scale": (r.scale_min, r.scale_max), "still_open": bool(r.still_open)} for r in rows]


# --- a manager's team report ----------------------------------------------------------------------------------


def team_report(session: Session, run: AppraisalRun, team_ids: Iterable[int] | Select,
                scoring_rules: Mapping[str, Any], *, reader: int | None = None,
                with_no_team: bool = False) -> dict[str, Any]:
    """Every employee appraised in ``run`` as a member of ``team_ids``, best rank first, with the key numbers.

    Each row carries the composite with rank, percentile and change, each metric with n, interval and
    attainment, training needs, recommendations with their status (the period's, whichever of its runs
    decided them: :func:`period_recommendations`), and the composite's trend.

    :param team_ids: ids, or a SELECT of them such as :func:`core.models.managed_teams`.
    :param reader: the reader's employee id: their own proposals, which someone else decides, are not among
        those said to await a decision.
    :param with_no_team: also the people appraised in no team (HR's report of every team), as "No team".
    """
    team_ids = team_ids if isinstance(team_ids, Select) else list(team_ids)
    columns = metric_columns(run, scoring_rules)
    teamed = AppraisalResult.team_id.in_(team_ids)
    in_teams = and_(AppraisalResult.run_id == run.id,
                    or_(teamed, AppraisalResult.team_id.is_(None)) if with_no_team else teamed)
    results = session.execute(
        select(AppraisalResult, Employee.name, Employee.email, func.coalesce(Team.name, NO_TEAM),
               Employee.started_on, Employee.left_on)
        .join(Employee, Employee.id == AppraisalResult.employee_id)
        .outerjoin(Team, Team.id == AppraisalResult.team_id)
        .where(in_teams)).all()
    members = select(AppraisalResult.employee_id).where(in_teams)
    metrics: dict[int, dict[str, MetricResult]] = {}
    for m in session.scalars(select(MetricResult).where(MetricResult.run_id == run.id,
                                                        MetricResult.employee_id.in_(members))):
        metrics.setdefault(m.employee_id, {})[m.metric] = m
    recommendations = period_recommendations(session, run, members)
    periods = trend_runs(session, run)
    ids = [run_id for run_id, _ in periods]
    history: dict[tuple[int, int], float | None] = {
        (r.employee_id, r.run_id): r.composite for r in session.execute(
            select(AppraisalResult.employee_id, AppraisalResult.run_id, AppraisalResult.composite)
            .where(AppraisalResult.run_id.in_(ids), AppraisalResult.employee_id.in_(members)))}
    rows, teams = [], {}
    period = period_of(run)
    for result, name, email, team_name, started_on, left_on in results:
        row = {"employee_id": result.employee_id, "employee": name, "email": email, "team": team_name,
               # a rank of some of the period's days among peers of all of them, as the employee's report says
               "part_worked": part_worked(period, started_on, left_on, _unranked_below(run, result)),
               **_standing(result, scoring_rules),
               "metrics": [_metric(column, metrics.get(result.employee_id, {}).get(column["name"]))
                           for column in columns],
               "recommendations": recommendations.get(result.employee_id, []),
               "trend": [history.get((result.employee_id, run_id)) for run_id in ids]}
        rows.append(row)
        # By id: two teams may share a name, and each has its own mean.
        team = teams.setdefault(result.team_id, {"name": team_name, "composite_mean": result.team_mean,
                                                 "members": 0, "ranked": 0})
        team["members"] += 1
        team["ranked"] += result.rank is not None  # the team mean is theirs
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["employee"], r["employee_id"]))
    org_mean = next((r["org_mean"] for r in rows if r["org_mean"] is not None), None)
    return {"run": describe_run(run), "metrics": columns, "rows": rows,
            "teams": sorted(teams.values(), key=lambda t: t["name"]), "org_mean": org_mean,
            "trend_labels": [short_label(run.period_kind, start) for _, start in periods],
            "awaiting_decision": sum(r["status"] == "proposed" for row in rows if row["employee_id"] != reader
                                     for r in row["recommendations"])}


# --- numbers as reports print them ----------------------------------------------------------------------------


def show(value: float | None, display: str = "composite") -> str:
    """A number as the reports print it: ``75.0%``, ``+25.0`` (NPS), ``4.25``, ``70.8``; a dash for none.

    :param display: a scoring rule's ``display`` (``percent``, ``score``, ``number``), ``composite`` for
        composites and means on 0-100, ``change`` for a signed difference.
    """
    if value is None:
        return "–"
    if display == "percent":
        return f"{value:.1f}%"
    if display in ("score", "change"):
        return f"{value:+.1f}"
    if display == "number":
        return f"{value:.2f}"
    return f"{value:.1f}"
