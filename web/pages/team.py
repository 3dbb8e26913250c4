"""Managers' pages (HR's too): the team dashboard, targets, responses by employee (the queue: web/pages/queue.py).

A manager sees the teams they lead and the teams below them; HR sees every team (web/scope.py). Every page
reads with a fixed handful of queries, whatever the size of the team.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, case, func, or_, select

from appraisal.guidelines import current_guideline
from appraisal.models import (
    AppraisalResult,
    AppraisalRun,
    Guideline,
    MetricResult,
    Target,
)
from appraisal.periods import (
    check_day,
    days_of,
    month_of,
    quarter_of,
    short_label,
    stored_period,
    week_of,
)
from appraisal.report import metric_display
from appraisal.targets import (
    TargetError,
    may_set_target,
    metric_range,
    range_problem,
    set_target,
    target_for,
)
from core.auth import roles_required
from core.db import get_session
from core.local_time import midnight, today
from core.models import (
    Employee,
    Feedback,
    Team,
    Ticket,
    managed_teams,
    team_and_below,
)
from core.plugins import get_plugins
from web.arguments import choice_arg, finite_number, is_id, page_of, whole_number
from web.charts import line_chart, sparkline
from web.scope import (
    employee_or_403,
    sees_everyone,
    visible_employees,
)

bp = Blueprint("team", __name__)

PAGE_SIZE = 50
#: How many completed periods the trend shows.
TREND_PERIODS = 8
PERIODS = {"week": week_of, "month": month_of, "quarter": quarter_of}
TARGET_SHOWS = ("current", "all")
TARGET_FIELDS = ("subject", "metric", "period_kind", "day", "value")
#: In the order a listing shows them: best first.
ATTAINMENT_LABELS = {"exceeded": "exceeded", "met": "met", "below": "below", "far_below": "far below",
                     None: "too few to judge"}


# Query parameters: a wrong one is a 400 that names it.

def _bad(name: str, message: str):
    abort(400, description=f"{name}: {message}")


def _int_arg(name: str, minimum: int = 1) -> int | None:
    return whole_number(name, minimum=minimum)


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        _bad(name, f"give a date as YYYY-MM-DD, not {raw[:40]!r}")
    try:
        return check_day(day)
    except ValueError as exc:  # a date so far off that the days around it overflow
        _bad(name, str(exc))


# Scope: which teams and people the user may work with.

def _visible_team_ids(user):
    """A SELECT of the team ids ``user`` may see, or None for every team."""
    if sees_everyone(user):
        return None
    if user.employee_id is None:
        return select(Team.id).where(Team.id.is_(None))
    return managed_teams(user.employee_id)


def _teams(session, user) -> list:
    """The teams ``user`` may see, by name, with who leads each."""
    query = select(Team.id, Team.name, Team.manager_id).order_by(Team.name, Team.id)
    scope = _visible_team_ids(user)
    return session.execute(query if scope is None else query.where(Team.id.in_(scope))).all()


def colleagues(session, user, *, leavers: bool = False) -> list:
    """The active employees ``user`` may choose (set a target for, credit feedback to): never themselves.

    :param leavers: those who have left too (``left_on`` given), to credit with what came from their days.
    """
    working = Employee.creditable if leavers else Employee.active
    query = (select(Employee.id, Employee.name, Team.name.label("team"), Employee.left_on)
             .outerjoin(Team, Team.id == Employee.team_id)
             .where(working, visible_employees(user), Employee.id.is_distinct_from(user.employee_id))
             .order_by(Employee.name, Employee.id))
    return session.execute(query).all()


def _rules():
    return get_plugins().scoring_rules




# The team dashboard.

def _recent_runs(session, kind: str) -> list:
    """The run of record (the latest completed request) of each of the last periods of ``kind``, oldest first."""
    newest = (select(func.max(AppraisalRun.id).label("id"))
              .where(AppraisalRun.status == "completed", AppraisalRun.period_kind == kind)
              .group_by(AppraisalRun.period_start, AppraisalRun.period_end)
              .order_by(AppraisalRun.period_start.desc()).limit(TREND_PERIODS).subquery())
    return session.execute(select(AppraisalRun, Guideline.version, Guideline.document)
                           .join(Guideline, Guideline.id == AppraisalRun.guideline_id)
                           .where(AppraisalRun.id.in_(select(newest.c.id)))
                           .order_by(AppraisalRun.period_start)).all()


@bp.get("/team")
@roles_required("manager", "hr")
def dashboard():
    """Show each employee of one team in the latest completed run: composite, standing, metrics, trend."""
    session = get_session()
    kind = choice_arg("kind", tuple(PERIODS), "week")
    teams = _teams(session, current_user)
    team_id = _int_arg("team")
    if team_id is None:
        team = next((t for t in teams if t.manager_id is not None and t.manager_id == current_user.employee_id),
                    None)
    else:
        team = next((t for t in teams if t.id == team_id), None)
        if team is None:
            abort(404 if session.get(Team, team_id) is None else 403)
    if team is None:  # HR, or a manager leading nothing yet: choose a team first
        return render_template("team/dashboard.html", teams=teams, team=None, kind=kind, run=None)
    runs = _recent_runs(session, kind)
    # A team's page shows the teams below it too: a department's lead sees everyone in it.
    subtree = team_and_below(team.id)
    spans = session.scalar(select(Team.id).where(Team.parent_id == team.id).limit(1)) is not None
    members = select(Employee.id).where(Employee.team_id.in_(subtree), Employee.active)
    if not runs:
        people = session.execute(select(Employee.id, Employee.name).where(Employee.id.in_(members))
                                 .order_by(Employee.name)).all()
        return render_template("team/dashboard.html", teams=teams, team=team, kind=kind, run=None, people=people)
    run, version, document = runs[-1]
    run_ids = [r.id for r, _, _ in runs]
    # Whom the run counted in the team, as its means do (a leaver of the period, someone moved out since), and
    # whoever is in it now.
    members = select(Employee.id).where(or_(Employee.id.in_(members), Employee.id.in_(
        select(AppraisalResult.employee_id).where(AppraisalResult.run_id == run.id,
                                                  AppraisalResult.team_id.in_(subtree)))))
    results = session.execute(
        # reachable: whose report the viewer may open now (someone moved to another team since is not theirs)
        select(Employee.id, Employee.name, AppraisalResult, Team.name, Employee.left_on, Employee.started_on,
               visible_employees(current_user).label("reachable"))
        .outerjoin(AppraisalResult, and_(AppraisalResult.employee_id == Employee.id, AppraisalResult.run_id == run.id))
        .outerjoin(Team, Team.id == func.coalesce(AppraisalResult.team_id, Employee.team_id))
        .where(Employee.id.in_(members))).all()
    metrics: dict[int, dict[str, MetricResult]] = {}
    for metric in session.scalars(select(MetricResult).where(MetricResult.run_id == run.id,
                                                             MetricResult.employee_id.in_(members))):
        metrics.setdefault(metric.employee_id, {})[metric.metric] = metric
    history: dict[int, dict[int, float | None]] = {}
    for run_id, employee_id, composite in session.execute(
            select(AppraisalResult.run_id, AppraisalResult.employee_id, AppraisalResult.composite)
            .where(AppraisalResult.run_id.in_(run_ids), AppraisalResult.employee_id.in_(members))):
        history.setdefault(employee_id, {})[run_id] = composite
    # The team's mean composite: as the run stored it for one team; over the people of the teams below too,
    # for a team that has some (the mean of the ranked's composites, as a team's own mean is).
    team_mean = (func.avg(case((AppraisalResult.team_id.in_(subtree) & AppraisalResult.rank.is_not(None),
                                AppraisalResult.composite))) if spans
                 else func.max(case((AppraisalResult.team_id == team.id, AppraisalResult.team_mean))))
    means = {row.run_id: row for row in session.execute(
        select(AppraisalResult.run_id, func.max(AppraisalResult.org_mean).label("org"), team_mean.label("team"))
        .where(AppraisalResult.run_id.in_(run_ids)).group_by(AppraisalResult.run_id))}
    # Every metric's organisation mean from the run itself, so a team without people still shows them.
    org_metrics = dict(session.execute(select(MetricResult.metric, func.max(MetricResult.org_mean))
                                       .where(MetricResult.run_id == run.id).group_by(MetricResult.metric)).all())

    rules = _rules()
    columns = [{"name": m["rule"], "title": getattr(rules.get(m["rule"]), "title", m["rule"]),
                "display": metric_display(document, rules.get(m["rule"]))} for m in document["metrics"]]
    names = [column["name"] for column in columns]
    labels = [short_label(kind, r.period_start) for r, _, _ in runs]
    rows = []
    first, last = days_of(run.period_start, run.period_end)
    for employee_id, name, result, team_name, left_on, started_on, reachable in results:
        trend = [history.get(employee_id, {}).get(r) for r in run_ids]
        rows.append({"id": employee_id, "name": name, "team": team_name, "result": result, "left_on": left_on,
                     "joined_on": started_on if started_on and first < started_on <= last else None,
                     "reachable": bool(reachable),
                     "metrics": metrics.get(employee_id, {}),
                     "trend": sparkline(trend, label=f"{name}'s composite, last {len(trend)} {kind}s: "
                                        + ", ".join("–" if v is None else f"{v:.1f}" for v in trend))})
    rank = lambda row: row["result"].rank if row["result"] is not None else None
    rows.sort(key=lambda row: (rank(row) is None, rank(row) or 0, row["name"], row["id"]))
    team_metrics = _team_metric_means(session, run.id, team.id, subtree if spans else None)
    team_metrics = {n: team_metrics.get(n) for n in names}
    org_metrics = {n: org_metrics.get(n) for n in names}
    series = {team.name: [means[r].team if r in means else None for r in run_ids],
              "Organisation": [means[r].org if r in means else None for r in run_ids]}
    chart = line_chart(labels, series,
                       label=f"Mean composite of {team.name} and of the organisation, last {len(runs)} {kind}s",
                       low=0, high=100)
    return render_template("team/dashboard.html", teams=teams, team=team, kind=kind, run=run, version=version,
                           confidence=document.get("confidence_level", 0.95), rows=rows, columns=columns, means=means.get(run.id), team_metrics=team_metrics,
                           org_metrics=org_metrics, chart=chart, attainment=ATTAINMENT_LABELS,
                           trend_runs=len(runs), spans=spans,
                           trend={"labels": labels, "series": series})  # the chart's numbers, as a table


def _team_metric_means(session, run_id: int, team_id: int, subtree=None) -> dict[str, float | None]:
    """Each metric's mean over the items of the people the run counted in the team (their team then), or in a
    team with teams below it (``subtree``, a SELECT of their ids): each person's mean weighted by their items,
    the mean of every item, as the run pools a team.

    Not the stored team means: someone alone with items in their team is stored with none (it would be their
    own figure, and shrinking toward it nothing), while their manager still reads the team's figure here.
    """
    teams = AppraisalResult.team_id == team_id if subtree is None else AppraisalResult.team_id.in_(subtree)
    query = (select(MetricResult.metric, func.sum(MetricResult.value * MetricResult.n) / func.sum(MetricResult.n))
             .where(teams, MetricResult.value.is_not(None), MetricResult.n > 0))
    return dict(session.execute(
        query.join(AppraisalResult, and_(AppraisalResult.run_id == MetricResult.run_id,
                                         AppraisalResult.employee_id == MetricResult.employee_id))
        .where(MetricResult.run_id == run_id).group_by(MetricResult.metric)).all())


# Targets.

def _target_scope(user):
    """A WHERE clause on ``Target``: those of the user's teams and their people (None: every target)."""
    teams = _visible_team_ids(user)
    if teams is None:
        return None
    return or_(Target.team_id.in_(teams), Target.employee_id.in_(select(Employee.id).where(Employee.team_id.in_(teams))))


def _attainments(session, target_ids: list[int]) -> dict[int, dict]:
    """For each target, the latest run that applied it: its period and how many reached each level.

    Latest by the end of the run's period, and the longest of those ending together: a month's target is
    applied by the month's run and by its weeks' runs, and once the month has been appraised that is its
    attainment, not the last week's.
    """
    if not target_ids:
        return {}
    recency = func.dense_rank().over(partition_by=MetricResult.target_id,
                                     order_by=(AppraisalRun.period_end.desc(), AppraisalRun.period_start,
                                               AppraisalRun.id.desc()))
    applied = (select(MetricResult.target_id, MetricResult.attainment, MetricResult.value, AppraisalRun.period_kind,
                      AppraisalRun.period_start, AppraisalRun.period_end, recency.label("recency"))
               .join(AppraisalRun, AppraisalRun.id == MetricResult.run_id)
               .where(MetricResult.target_id.in_(target_ids), AppraisalRun.status == "completed").subquery())
    found: dict[int, dict] = {}
    for row in session.execute(
            select(applied.c.target_id, applied.c.period_kind, applied.c.period_start, applied.c.period_end,
                   applied.c.attainment, func.count().label("people"), func.avg(applied.c.value).label("value"))
            .where(applied.c.recency == 1)
            .group_by(applied.c.target_id, applied.c.period_kind, applied.c.period_start, applied.c.period_end,
                      applied.c.attainment)):
        entry = found.setdefault(row.target_id, {"period": (row.period_kind, row.period_start, row.period_end),
                                                 "levels": {}, "value": None})
        entry["levels"][row.attainment] = row.people
        entry["value"] = row.value
    for entry in found.values():  # best first, "too few to judge" last
        entry["levels"] = [(level, entry["levels"][level]) for level in ATTAINMENT_LABELS if level in entry["levels"]]
    return found


def _target_form(session, user) -> dict:
    """What the form offers: the guideline's metrics and the teams and people within the user's scope."""
    guideline = current_guideline(session)
    rules = _rules()
    specs = {m["rule"]: m for m in (guideline.document["metrics"] if guideline else [])}
    return {"metrics": [(name, getattr(rules.get(name), "title", name)) for name in specs], "specs": specs,
            "teams": _teams(session, user), "people": colleagues(session, user), "kinds": tuple(PERIODS)}


def _read_target(session, form, specs) -> tuple[dict, dict]:
    """Parse the posted target into set_target's arguments; return them with the errors by field."""
    errors, values = {}, {}
    kind, _, raw_id = form.get("subject", "").partition(":")
    if kind not in ("employee", "team") or not is_id(raw_id):
        errors["subject"] = "choose a team or an employee"
    else:
        subject = session.get(Employee if kind == "employee" else Team, int(raw_id))
        if subject is None or (kind == "employee" and not subject.active):
            errors["subject"] = f"no such {kind}; choose one from the list"
        else:
            values["employee" if kind == "employee" else "team"] = subject
    values["metric"] = form.get("metric", "").strip()
    if not values["metric"]:
        errors["metric"] = "choose a metric"
    elif specs and values["metric"] not in specs:  # said here too, so every wrong field shows at once
        errors["metric"] = f"{values['metric']!r} is not in the guideline in force; choose from {', '.join(specs)}"
    if form.get("period_kind") not in PERIODS:
        errors["period_kind"] = f"choose from {', '.join(PERIODS)}"
    try:
        day = date.fromisoformat(form.get("day", "").strip())
    except ValueError:
        errors["day"] = "give a day of the period as YYYY-MM-DD"
    else:
        if "period_kind" not in errors:
            try:
                values["period"] = PERIODS[form["period_kind"]](day)
            except ValueError as exc:
                errors["day"] = str(exc)
    value = finite_number(form.get("value", "").strip())
    if value is None:
        errors["value"] = "give a number, such as 80 or 80.5"
    else:
        values["value"] = value
        rule = _rules().get(values["metric"])
        # Said here too, so every wrong field shows at once; HR's narrower bounds are set_target's to check.
        bounds = metric_range(specs[values["metric"]], rule) if values["metric"] in specs else None
        if bounds and (problem := range_problem(values["value"], bounds, rule.title)):
            errors["value"] = problem
    return values, errors


def _target_value(session, values: dict) -> float | None:
    """The value of the target the form would change, before it does; None when it sets a new one."""
    target = target_for(session, values["metric"], values["period"], employee=values.get("employee"),
                        team=values.get("team"))
    return target.value if target is not None else None


def _appraised_already(session, values: dict) -> str:
    """A word for a target set on a period already appraised: its runs keep the targets they were computed with."""
    run_id = session.scalar(select(func.max(AppraisalRun.id)).where(
        AppraisalRun.status == "completed", AppraisalRun.period_start >= values["period"].start,
        AppraisalRun.period_end <= values["period"].end))
    if run_id is None:
        return ""
    return (f" This period was appraised already (run {run_id}): its runs keep the targets they were computed "
            f"with, and this one counts when HR appraises the period again.")


@bp.route("/targets", methods=["GET", "POST"])
@roles_required("manager", "hr")
def targets():
    """List the targets of the user's teams and people with their latest attainment; set one on POST."""
    session = get_session()
    errors, status = {}, 200
    offer = _target_form(session, current_user)
    if request.method == "POST":
        values, errors = _read_target(session, request.form, offer["specs"])
        subject = values.get("employee") or values.get("team")
        if subject is not None and not may_set_target(session, current_user, values.get("employee"),
                                                      values.get("team")):
            session.rollback()
            abort(403, description="You may set targets only for the teams you lead and their people, "
                                   "never for yourself.")
        if not errors:
            before = _target_value(session, values)
            try:
                target = set_target(session, current_user, **{k: v for k, v in values.items()})
            except TargetError as exc:
                errors[exc.field if exc.field in TARGET_FIELDS else "subject"] = exc.message
            except PermissionError as exc:
                session.rollback()
                abort(403, description=str(exc))
            else:
                session.commit()
                title = getattr(_rules().get(target.metric), "title", target.metric)
                what = (f"Target set: {title} {target.value:g}" if before is None else
                        f"Target changed: {title} from {before:g} to {target.value:g}")
                flash(f"{what} for {subject.name}, {values['period'].label}.{_appraised_already(session, values)}")
                # A target of a period that has ended is listed with the ended ones: the list said nothing of it.
                ended = values["period"].end <= midnight(today())
                return redirect(url_for(".targets", show="all" if ended else None), 303)
        session.rollback()
        status = 400
    show = choice_arg("show", TARGET_SHOWS, "current")
    scope = _target_scope(current_user)
    subject_name = func.coalesce(Employee.name, Team.name).label("subject")
    listing = (select(Target, subject_name, Target.employee_id.is_not(None).label("personal"))
               .outerjoin(Employee, Employee.id == Target.employee_id).outerjoin(Team, Team.id == Target.team_id))
    if scope is not None:
        listing = listing.where(scope)
    if show == "current":  # in force or still to come
        listing = listing.where(Target.period_end > midnight(today()))
    total = session.scalar(select(func.count()).select_from(listing.subquery()))
    page, pages = page_of(total, PAGE_SIZE)
    found = session.execute(listing.order_by(Target.period_start.desc(), Target.metric, subject_name, Target.id)
                            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    reached = _attainments(session, [row.Target.id for row in found])
    rules = _rules()
    # A target is on the metric as the guideline in force sets it up (CES's mode decides its scale).
    document = guideline.document if (guideline := current_guideline(session)) else {"metrics": []}
    specs = {m["rule"]: m for m in document["metrics"]}
    rows = [{"target": row.Target, "subject": row.subject, "personal": row.personal,
             "title": getattr(rules.get(row.Target.metric), "title", row.Target.metric),
             "display": metric_display(document, rules.get(row.Target.metric)),
             "period": stored_period(row.Target.period_start, row.Target.period_end),
             "reached": reached.get(row.Target.id),
             "refused": _refused_now(row.Target, specs, rules)} for row in found]
    return render_template("team/targets.html", rows=rows, show=show, page=page, pages=pages, total=total,
                           form=offer, errors=errors, posted=request.form if request.method == "POST" else {},
                           attainment=ATTAINMENT_LABELS), status


def _refused_now(target: Target, specs, rules) -> str | None:
    """Why this target would be refused if it were set today (a reply time of -5 minutes, set before that
    check existed), or None: it stays in force as stored, so whoever keeps it should know."""
    spec, rule = specs.get(target.metric), rules.get(target.metric)
    scale = metric_range(spec, rule) if spec is not None else None
    return range_problem(target.value, scale, getattr(rule, "title", target.metric)) if scale else None


# Responses by employee.

@bp.get("/team/responses")
@roles_required("manager", "hr")
def responses():
    """One employee's feedback items, newest first, within the user's scope; a picker without ?employee=."""
    session = get_session()
    employee_id = _int_arg("employee")
    if employee_id is None:
        return render_template("team/responses.html", employee=None, people=colleagues(session, current_user))
    first, last = _date_arg("from"), _date_arg("to")
    if first and last and last < first:
        _bad("to", f"{last} is before from ({first})")
    employee = employee_or_403(session, current_user, employee_id)
    if employee.id == current_user.employee_id:
        # A manager who is appraised too reads their own feedback as any employee does: on their report, with
        # the comments the guideline's comment policy lets them see, not verbatim here.
        abort(403, description="your own feedback is on your report, with the comments the guideline lets you read")
    kinds = list(session.scalars(select(Feedback.kind).where(Feedback.employee_id == employee.id)
                                 .group_by(Feedback.kind).order_by(Feedback.kind)))
    kind = request.args.get("kind", "").strip()
    if kind and kind not in kinds:
        _bad("kind", f"{employee.name} has no feedback of kind {kind[:40]!r}; "
                     f"choose from {', '.join(kinds) or 'none yet'}")
    where = [Feedback.employee_id == employee.id]
    if kind:
        where.append(Feedback.kind == kind)
    if first:
        where.append(Feedback.occurred_at >= midnight(first))
    if last:
        where.append(Feedback.occurred_at < midnight(last + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(Feedback).where(*where))
    page, pages = page_of(total, PAGE_SIZE)
    items = session.execute(
        select(Feedback, Ticket.external_id.label("ticket")).outerjoin(Ticket, Ticket.id == Feedback.ticket_id)
        .where(*where).order_by(Feedback.occurred_at.desc(), Feedback.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("team/responses.html", employee=employee, items=items, kinds=kinds, kind=kind,
                           first=first, last=last, page=page, pages=pages, total=total)


# The unattributed queue.
