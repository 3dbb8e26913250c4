"""Reports on the web: an employee's own report, the same for their managers and HR, and a team report.

The content comes from :mod:`appraisal.report`, as the weekly digests' does, so the page and the e-mail agree.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from appraisal.disclosure import MIN_COLLEAGUES, colleagues
from appraisal.lineage import RuleNotLoaded, metric_lineage
from appraisal.models import AppraisalResult, AppraisalRun
from appraisal.outdated import outdated_run
from appraisal.periods import counted
from appraisal.report import (
    completed_run,
    employee_report,
    latest_completed_run,
    replaced_for,
    runs_of_employee,
    show,
    team_report,
)
from appraisal.review import DecisionError, raise_dispute
from core.auth import roles_required, signed_in
from core.db import get_session
from core.models import Team, managed_teams, team_and_below
from core.plugins import get_plugins
from web.arguments import is_id, page_of, whole_number
from web.charts import line_chart
from web.scope import employee_or_403, sees_everyone

bp = Blueprint("report", __name__)

#: The longest dispute reason kept; a reason is a sentence or two for the manager deciding it.
REASON_MAX = 2000
#: Items listed per page of a metric's lineage.
LINEAGE_PAGE = 100
#: Where each kind of metric sits on a chart's vertical axis (None: fitted to the values).
_AXES = {"percent": (0, 100), "score": (-100, 100), "composite": (0, 100)}


@bp.get("/report")
@signed_in
def mine():
    """Show the signed-in employee their own report (the latest weekly run, or ``?run=``)."""
    if current_user.employee_id is None:
        return render_template("report/no_employee.html")
    raised = request.args.get("raised", "")
    return _employee_page(current_user.employee_id, request.args.get("run"), raised=int(raised) if is_id(raised) else None)


@bp.get("/report/<int:employee_id>")
@signed_in
def employee(employee_id: int):
    """Show an employee's report to them, their managers and HR; anyone else is refused (403)."""
    employee_or_403(get_session(), current_user, employee_id)
    return _employee_page(employee_id, request.args.get("run"))


#: The dispute form's fields as the page names them.
FIELD_NAMES = {"reason": "Reason", "feedback_id": "Item"}


@bp.post("/report/disputes")
@signed_in
def dispute():
    """Dispute an item credited to the signed-in employee; an item of anyone else's is refused (403)."""
    session = get_session()
    raw_id, reason = request.form.get("feedback_id", "").strip(), request.form.get("reason", "").strip()
    run = request.form.get("run", "").strip()
    errors: dict[str, str] = {}
    if not is_id(raw_id):
        errors["feedback_id"] = "feedback_id: choose the item to dispute"
    elif len(reason) > REASON_MAX:  # checked before the domain writes anything
        errors["reason"] = f"reason: at most {REASON_MAX:,} characters ({len(reason):,} given)"
    else:
        try:
            raised = raise_dispute(session, int(raw_id), current_user, reason)
        except PermissionError:
            session.rollback()  # nothing was written; let the write lock go before the error page
            abort(403, "You can dispute only feedback credited to you.")
        except DecisionError as exc:
            field = "reason" if str(exc).startswith("reason") else "feedback_id"
            errors[field] = str(exc)
        else:
            session.commit()
            # To the dispute in the list below the items, which says it is recorded: the item's row sat in a
            # table scrolled sideways on a phone, with a confirmation at the top of the page, out of sight.
            return redirect(url_for("report.mine", run=run if is_id(run) else None, raised=raised.id)
                            + f"#dispute-{raised.id}")
    session.rollback()
    # Named as the page names the field ("reason: ..." read as the form's inner workings).
    errors = {field: f"{FIELD_NAMES[field]}: {message.removeprefix(f'{field}: ')}" for field, message in errors.items()}
    if current_user.employee_id is None:  # a bad form from someone with no items at all
        abort(400, "; ".join(errors.values()))
    form = {"feedback_id": raw_id, "reason": reason}
    return _employee_page(current_user.employee_id, run or None, errors=errors, form=form, status=400)


@bp.get("/report/team")
@roles_required("manager", "hr")
def team():
    """Show a manager the team report the digest e-mails them: every employee of the teams they lead."""
    session = get_session()
    run = _chosen_run(session, request.args.get("run"))
    chosen = _int_arg("team")
    if sees_everyone(current_user):
        visible = select(Team.id)
    elif current_user.employee_id is not None:
        visible = managed_teams(current_user.employee_id)
    else:  # a manager account not linked to an employee leads no team
        visible = None
    teams = [] if visible is None else session.execute(
        select(Team.id, Team.name).where(Team.id.in_(visible)).order_by(Team.name)).all()
    if chosen is not None and chosen not in {t.id for t in teams}:
        if sees_everyone(current_user):
            abort(404, f"team: there is no team {chosen}")
        abort(403, "That team is not one you lead.")
    # A team with teams below it (a department) holds their people too, as its dashboard does.
    scope = team_and_below(chosen) if chosen is not None else (visible if visible is not None else [])
    # HR's report of every team takes in the people of none too, as the organisation overview does.
    everyone = chosen is None and sees_everyone(current_user)
    report = (team_report(session, run, scope, get_plugins().scoring_rules, reader=current_user.employee_id,
                          with_no_team=everyone)
              if run is not None else None)
    outdated = None  # what arrived or changed after the run, about the people shown
    if report is not None and report["rows"]:
        # The people it shows: those of these teams when the run was made, where it counted their items.
        people = None if everyone else select(AppraisalResult.employee_id).where(
            AppraisalResult.run_id == run.id, AppraisalResult.team_id.in_(scope))
        outdated = outdated_run(session, run, people)
    return render_template("report/team.html", report=report, teams=teams, chosen=chosen, show=show,
                           outdated=outdated)


@bp.get("/report/<int:employee_id>/runs/<int:run_id>/<string:metric>")
@signed_in
def lineage(employee_id: int, run_id: int, metric: str):
    """How one number of a report was worked out: the formula with its parameters, and the items behind it.

    For whoever may read the report: the employee, their managers and HR.
    """
    session = get_session()
    employee = employee_or_403(session, current_user, employee_id)
    run = completed_run(session, run_id)
    if run is None:
        abort(404, f"run: there is no completed appraisal run {run_id}")
    page = _int_arg("page") or 1
    try:
        found = metric_lineage(session, run.id, employee.id, metric, limit=LINEAGE_PAGE,
                               offset=(page - 1) * LINEAGE_PAGE)
    except RuleNotLoaded as exc:
        abort(404, str(exc))
    except LookupError:
        abort(404, f"run {run.id} has no metric {metric[:60]!r} for {employee.name}")
    page, pages = page_of(found["items_now"], LINEAGE_PAGE)
    rule = get_plugins().scoring_rules[metric]
    own = employee.id == current_user.employee_id
    withheld = set()
    if own:  # as on their report: no mean that would tell them what a colleague or two scored
        known = colleagues(session, [run.id], employee.id)
        withheld = {scope for scope in ("team", "org") if known.thin(run.id, scope, metric)}
    return render_template("report/lineage.html", lineage=found, employee=employee, run=run, rule=rule,
                           own=own, withheld=withheld,
                           min_colleagues=MIN_COLLEAGUES, page=page, pages=pages, show=show)


# --- helpers ------------------------------------------------------------------------------------------------


def _int_arg(name: str, value: str | None = None) -> int | None:
    return whole_number(name, value)


def _chosen_run(session, raw: str | None):
    """The completed run ``?run=`` names, else the latest weekly one (None when there is none yet)."""
    run_id = _int_arg("run", raw)
    if run_id is None:
        # Weekly reports are the rule; before the first week is appraised (HR ran a month first), the newest
        # period of any kind, rather than a page saying there is nothing.
        return latest_completed_run(session) or session.scalar(
            select(AppraisalRun).options(joinedload(AppraisalRun.guideline))
            .where(AppraisalRun.status == "completed")
            .order_by(AppraisalRun.period_end.desc(), AppraisalRun.id.desc()).limit(1))
    run = completed_run(session, run_id)
    if run is None:
        abort(404, f"run: there is no completed appraisal run {run_id}")
    return run


def _employee_page(employee_id: int, raw_run: str | None, *, errors=None, form=None, status: int = 200,
                   raised: int | None = None):
    session = get_session()
    run = _chosen_run(session, raw_run)
    audience = "employee" if employee_id == current_user.employee_id else "manager"
    report = charts = outdated = None
    if run is not None:
        report = employee_report(session, run, employee_id, get_plugins().scoring_rules, audience=audience,
                                 with_items=True)
        charts = _charts(report, None if audience == "employee" else report["employee"]["name"])
        # Their own items only: a dispute of theirs decided after the run, say, not a colleague's.
        outdated = outdated_run(session, run, [employee_id])
    return render_template("report/employee.html", report=report, run=run, audience=audience,
                           runs=runs_of_employee(session, employee_id),
                           replaced=run is not None and replaced_for(session, run, employee_id),
                           employee_id=employee_id,
                           own=audience == "employee", charts=charts, errors=errors or {}, form=form or {},
                           show=show, raised=raised, outdated=outdated), status


def _charts(report, name: str | None = None) -> dict:
    """The trend charts; ``name`` is whose they are when someone else reads them (a manager, HR)."""
    trend = report["trend"]
    what = f"over the last {counted(len(trend['labels']), report['run']['kind'])}"
    whose, line = ("Your", "You") if name is None else (f"{name}'s", name)
    low, high = _AXES["composite"]
    charts = {"composite": line_chart(
        trend["labels"], {line: trend["composite"]["you"], "Team mean": trend["composite"]["team"],
                          "Organisation mean": trend["composite"]["org"]},
        label=f"{whose} composite {what}, against the team and organisation means", low=low, high=high),
        "metrics": {}}
    for metric, series in trend["metrics"].items():
        low, high = _AXES.get(series["display"], (None, None))
        points = [v for line in ("you", "team", "org") for v in series[line] if v is not None]
        if low is None and points and min(points) >= 0:
            low = 0  # minutes, a mean rating: from zero, or the lowest week sat on the axis and looked like none
        charts["metrics"][metric] = line_chart(
            trend["labels"], {line: series["you"], "Team mean": series["team"], "Organisation mean": series["org"]},
            label=f"{series['title']} {what}", low=low, high=high)
    return charts
