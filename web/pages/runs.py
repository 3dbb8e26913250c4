"""HR's appraisal runs: every run with its state, and a form to appraise a period now."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from appraisal.guidelines import GuidelineError
from appraisal.models import AppraisalResult, AppraisalRun, Guideline
from appraisal.outdated import being_run_again, changes_since
from appraisal.period_zone import MisalignedPeriods, counted_rows, misaligned
from appraisal.periods import (
    PERIOD_KINDS,
    check_day,
    check_started,
    days_of,
    month_of,
    period_between,
    quarter_of,
    unfinished,
    week_of,
)
from appraisal.runs import request_run
from core.auth import roles_required
from core.db import get_session
from core.local_time import today
from core.models import User
from web.arguments import page_of
from web.pages.budgets import runs_and_budgets

bp = Blueprint("runs", __name__)
PAGE_SIZE = 50
_OF_KIND = {"week": week_of, "month": month_of, "quarter": quarter_of}


def pages_holding(session, run_ids) -> dict[int, int]:
    """The page of the runs list (newest first) that shows each of ``run_ids``, in one query."""
    if not run_ids:
        return {}
    newer = aliased(AppraisalRun)
    before = select(func.count()).where(newer.id > AppraisalRun.id).scalar_subquery()
    return {run_id: count // PAGE_SIZE + 1 for run_id, count in session.execute(
        select(AppraisalRun.id, before).where(AppraisalRun.id.in_(run_ids)))}


@bp.route("/runs", methods=["GET", "POST"])
@roles_required("hr")
def index():
    """The runs, newest first, with how many people each appraised; POST requests a run of a period."""
    session = get_session()
    errors, posted = {}, {}
    if request.method == "POST":
        posted = request.form
        period, errors = _read_period(request.form)
        if not errors:
            try:
                run = request_run(session, period, actor=current_user)
                run_id = run.id
                session.commit()  # computed inline now, or by a worker once it is queued
            except (GuidelineError, MisalignedPeriods) as exc:
                session.rollback()
                errors["kind"] = str(exc)
            else:
                state = session.scalar(select(AppraisalRun.status).where(AppraisalRun.id == run_id))
                warning = unfinished(period, today())
                flash(f"Run {run_id}, {period.label}: {state}." + (f" Note: {warning}." if warning else ""))
                return redirect(_back_to(request.form.get("next")) or url_for(".index"), 303)
    total = session.scalar(select(func.count()).select_from(AppraisalRun))
    page, _ = page_of(total, PAGE_SIZE)  # past the last page: 400, as every other list says
    requester, appraised = aliased(User), (select(func.count()).where(AppraisalResult.run_id == AppraisalRun.id)
                                           .scalar_subquery())
    rows = session.execute(
        select(AppraisalRun, Guideline.version, requester.name, appraised)
        .join(Guideline, Guideline.id == AppraisalRun.guideline_id)
        .outerjoin(requester, requester.id == AppraisalRun.requested_by)
        .order_by(AppraisalRun.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    _, budgets = runs_and_budgets(session, {run.id for run, *_ in rows})
    stale = counted_rows(misaligned(session))
    # The run of record of each period on the page (the latest completed): the pages read that one.
    of_record = {(start, end): run_id for start, end, run_id in session.execute(
        select(AppraisalRun.period_start, AppraisalRun.period_end, func.max(AppraisalRun.id))
        .where(AppraisalRun.status == "completed",
               AppraisalRun.period_start.in_(sorted({run.period_start for run, *_ in rows})))
        .group_by(AppraisalRun.period_start, AppraisalRun.period_end))}
    superseded = {run.id: of_record[(run.period_start, run.period_end)] for run, *_ in rows
                  if run.status == "completed" and of_record.get((run.period_start, run.period_end), run.id) > run.id}
    # Only a run of record is worth running again: a superseded one is no longer read.
    outdated = changes_since(session, [run.id for run, *_ in rows if run.id not in superseded])
    days = {run.id: days_of(run.period_start, run.period_end) for run, *_ in rows if run.id in outdated}
    # A period already being run again gets no second button: the run under way counts the changes.
    under_way = being_run_again(session, [run for run, *_ in rows if run.id in outdated])
    return render_template("runs/index.html", rows=rows, total=total, page=page, page_size=PAGE_SIZE,
                           budgets=budgets, stale=stale, superseded=superseded, outdated=outdated, days=days,
                           under_way=under_way,
                           kinds=PERIOD_KINDS, errors=errors, posted=posted), 400 if errors else 200


def _back_to(path: str | None) -> str | None:
    """Where a form asked to come back to (a person's page runs a period again from there): a plain path of this
    site only. Nothing else passes: a browser reads ``//host``, ``/\\host`` or a tab inside the slashes as
    another site."""
    return path if path and _PLAIN_PATH.fullmatch(path) else None


_PLAIN_PATH = re.compile(r"/(?:[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/?)?")


def _read_period(form) -> tuple[object, dict[str, str]]:
    """The period the form names: a kind and a day in it, or (custom) a first and last day."""
    errors: dict[str, str] = {}
    kind = form.get("kind", "")
    if kind not in PERIOD_KINDS:
        return None, {"kind": f"kind: choose from {', '.join(PERIOD_KINDS)}"}
    days = {}
    for name in ("first", "last") if kind == "custom" else ("first",):
        typed = form.get(name, "").strip()
        if not typed:  # the date picker shows days in the browser's own format: nothing to say about YYYY
            errors[name] = f"{name}: choose a day"
            continue
        try:
            day = date.fromisoformat(typed)
        except ValueError:
            errors[name] = f"{name}: give a day as YYYY-MM-DD"
            continue
        try:
            days[name] = check_day(day)
        except ValueError as exc:
            errors[name] = f"{name}: {exc}"
    if errors:
        return None, errors
    if kind != "custom":
        period = _OF_KIND[kind](days["first"])
    else:
        try:
            period = period_between(days["first"], days["last"], "custom")
        except ValueError as exc:
            return None, {"last": f"last: {exc}"}
    try:
        return check_started(period, today()), {}
    except ValueError as exc:
        return None, {"first": f"first: {exc}"}
