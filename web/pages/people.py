"""HR's people: who works here and who has left, and recording a leaving or a return without a shell.

The organisation file (``plaudit org import``) brings people in; these pages record what happens to one person
afterwards, under the same rules as ``plaudit org deactivate`` and ``activate`` (:mod:`core.tenure`).
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, DateField
from wtforms.validators import Optional

from appraisal.periods import days_of
from appraisal.tenure_runs import runs_by_old_days
from core import local_time
from core.auth import roles_required
from core.db import get_session
from core.models import Employee, Team, User, team_and_below
from core.tenure import TenureError, record_joining, record_leaving, record_return
from web.arguments import choice_arg, page_of, whole_number

bp = Blueprint("people", __name__)

PAGE_SIZE = 50
STATUSES = ("active", "left", "all")
#: The longest search kept: a name or e-mail address is shorter.
SEARCH_LIMIT = 200


class DayField(DateField):
    """A day typed as YYYY-MM-DD (a browser's date picker sends it so), refused in words a person reads."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raw = valuelist[0].strip() if valuelist else ""
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                raise ValueError(f"{raw} is not a day of the calendar") from None
            raise ValueError("give a day as YYYY-MM-DD, such as 2026-11-20") from None


class LeavingForm(FlaskForm):
    # Empty is today: the organisation's date, as every day in Plaudit is.
    left_on = DayField("The day they left (their last day of work)", validators=[Optional()],
                       format="%Y-%m-%d", render_kw={"type": "date"})
    keep_account = BooleanField("Keep their user account active (they stay on in another role)")


class JoiningForm(FlaskForm):
    started_on = DayField("The day they joined (empty: not known)", validators=[Optional()], format="%Y-%m-%d",
                          render_kw={"type": "date"})


@bp.get("/people")
@roles_required("hr")
def index():
    """Everyone employed, or who has left, by name: their team, the days they joined and left, their account."""
    session = get_session()
    status = choice_arg("status", STATUSES, "active")
    team_id = whole_number("team")
    search = request.args.get("q", "").strip()[:SEARCH_LIMIT]
    where = {"active": [Employee.active], "left": [~Employee.active], "all": []}[status]
    if team_id is not None:  # with the teams below it: a department lists everyone in it
        where.append(Employee.team_id.in_(team_and_below(team_id)))
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(Employee.name.ilike(pattern, escape="\\"), Employee.email.ilike(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(Employee).where(*where))
    page, pages = page_of(total, PAGE_SIZE)
    rows = session.execute(
        select(Employee.id, Employee.name, Employee.email, Employee.active, Employee.started_on, Employee.left_on,
               Team.name.label("team"), User.email.label("account"), User.active.label("account_active"))
        .outerjoin(Team, Team.id == Employee.team_id).outerjoin(User, User.employee_id == Employee.id)
        .where(*where).order_by(func.lower(Employee.name), Employee.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    teams = session.execute(select(Team.id, Team.name).order_by(Team.name)).all()
    filters = {"status": status, **({"team": team_id} if team_id else {}), **({"q": search} if search else {})}
    return render_template("people/index.html", rows=rows, teams=teams, status=status, statuses=STATUSES,
                           team_id=team_id, search=search, total=total, page=page, pages=pages, filters=filters)


@bp.route("/people/<int:employee_id>", methods=["GET", "POST"])
@roles_required("hr")
def person(employee_id: int):
    """One person, and the form that records their leaving (or corrects the day): POST takes it."""
    session = get_session()
    employee = employee_or_404(session, employee_id, lock=request.method == "POST")
    form, joining = LeavingForm(), JoiningForm(formdata=None, started_on=employee.started_on)
    if request.method == "POST" and form.validate():
        was_active = employee.active
        refusal = _account_refusal(session, employee) if was_active and not form.keep_account.data else None
        if not was_active and form.left_on.data is None:
            form.left_on.errors = ["give the day they left"]
        elif refusal:
            form.keep_account.errors = [refusal]
        else:
            try:  # for someone who has left already, only the day: their account stays as it is
                leaving = record_leaving(session, employee, form.left_on.data, actor=current_user.id,
                                         keep_account=form.keep_account.data or not was_active)
            except TenureError as exc:
                session.rollback()  # nothing half done: the account stays as it was too
                if exc.field == "left_on":
                    form.left_on.errors = [str(exc)]
                else:
                    form.keep_account.errors = [f"{exc}, or tick the box to keep this one active"]
            else:
                said = _said(employee, leaving, was_active)
                session.commit()
                flash(said)
                return redirect(url_for(".person", employee_id=employee_id), code=303)
    elif request.method == "GET" and not employee.active:
        form.left_on.data = employee.left_on
    return _person_page(session, employee, form, joining)


def _account_refusal(session, employee: Employee) -> str | None:
    """Why HR may not close ``employee``'s account from this page, if so: their own, or an admin's, which the
    pages have no way to open again."""
    account = session.scalar(select(User).where(User.employee_id == employee.id, User.active))
    if account is None:
        return None
    if account.id == current_user.id:
        return ("this is your own account: closing it would sign you out. Tick the box to keep it, and have an "
                "admin close it")
    if account.has_role("admin") and not current_user.has_role("admin"):
        return (f"{account.email} is an admin's account, which only an admin closes (plaudit users deactivate): "
                f"tick the box to keep it active here")
    return None


@bp.post("/people/<int:employee_id>/joined")
@roles_required("hr")
def joined(employee_id: int):
    """Set or correct the day someone joined: runs of periods that end before it leave them out."""
    session = get_session()
    employee = employee_or_404(session, employee_id, lock=True)
    joining = JoiningForm()
    if joining.validate():
        try:
            changed = record_joining(session, employee, joining.started_on.data, actor=current_user.id)
        except TenureError as exc:
            joining.started_on.errors = [str(exc)]
        else:
            session.commit()
            day = joining.started_on.data
            joins = "joins" if day and day > local_time.today() else "joined"
            flash(f"{employee.name}: nothing changed." if not changed else
                  f"{employee.name} {joins} on {day.isoformat()}: runs of periods that end before it leave them "
                  f"out, and what was credited to them from before it counts for nobody; runs already made keep "
                  f"their results." if day else
                  f"{employee.name}'s joining day is not known: runs count them from the start of every period.")
            return redirect(url_for(".person", employee_id=employee_id), code=303)
    leaving = LeavingForm(formdata=None, left_on=None if employee.active else employee.left_on)
    return _person_page(session, employee, leaving, joining)


@bp.post("/people/<int:employee_id>/return")
@roles_required("hr")
def returning(employee_id: int):
    """Mark someone who had left as employed again (the day they left is forgotten); their account stays as it is."""
    session = get_session()
    employee = employee_or_404(session, employee_id, lock=True)
    if record_return(session, employee, actor=current_user.id):
        session.commit()
        account = session.scalar(select(User.email).where(User.employee_id == employee.id, ~User.active))
        flash(f"{employee.name} is employed again: runs made from now on appraise them."
              + (f" Their account is still inactive: an admin activates it (plaudit users activate {account})."
                 if account else ""))
    else:
        flash(f"{employee.name} is already employed: nothing changed.")
    return redirect(url_for(".person", employee_id=employee_id), code=303)


def employee_or_404(session, employee_id: int, *, lock: bool = False) -> Employee:
    """:param lock: for a change of their days: hold the row until the change commits, reading it as the last
        change left it. Two HR people changing one person at once otherwise both passed the checks on what they
        had read, and the second broke a rule the database keeps (migration 0025): a bare 500."""
    employee = session.get(Employee, employee_id, options=[selectinload(Employee.identities)], with_for_update=lock,
                           populate_existing=lock)
    if employee is None:
        abort(404, description=f"There is no employee {employee_id}.")
    return employee


def _person_page(session, employee: Employee, form: LeavingForm, joining: JoiningForm):
    """The person's page with both forms; answered 400 when either holds a refusal."""
    account = session.scalar(select(User).where(User.employee_id == employee.id))
    leads = session.scalars(select(Team.name).where(Team.manager_id == employee.id).order_by(Team.name)).all()
    team = session.get(Team, employee.team_id) if employee.team_id is not None else None
    old_days = [(run, *days_of(run.period_start, run.period_end)) for run in runs_by_old_days(session, employee)]
    page = render_template("people/person.html", employee=employee, team=team, account=account, leads=leads,
                           form=form, joining=joining, today=local_time.today(), old_days=old_days)
    return page, 400 if form.errors or joining.errors else 200


def _said(employee: Employee, leaving, was_active: bool) -> str:
    """What recording a leaving did, in a sentence or three."""
    if not leaving.recorded:
        return f"{employee.name} had already left on {leaving.day.isoformat()}: nothing changed."
    if not was_active:
        return (f"{employee.name} left on {leaving.day.isoformat()}, the day is corrected: runs made from now on "
                f"use it; runs already made keep their results (any runs this changes are listed on this page, to "
                f"run again).")
    if leaving.day is None:
        said = (f"{employee.name} is no longer employed, and was never appraised: they were to join on "
                f"{employee.started_on.isoformat()}.")
    else:
        said = (f"{employee.name} left on {leaving.day.isoformat()}: runs of the periods they worked in appraise "
                f"them, later ones leave them out. Runs already made keep their results: any runs this changes "
                f"are listed on this page, to run again.")
    if leaving.account_closed:
        said += f" Their account {leaving.account.email} can no longer sign in or use its API tokens."
    elif leaving.account is not None and leaving.account.active:
        said += f" Their account {leaving.account.email} stays active."
    if leaving.leads:
        said += (f" They still lead {', '.join(leaving.leads)}: name a new lead in the organisation file, or nobody "
                 f"gets that team's alerts and digest.")
    return said + " Take them out of the organisation file too: importing a row for them makes them employed again."
