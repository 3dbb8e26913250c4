"""HR adds a person, corrects their name, team, identities or e-mail, and imports the organisation file, on the web.

Each goes through what ``plaudit org import`` and ``plaudit org set-email`` do (:mod:`core.people_import`,
:mod:`core.email_change`), so a page and the command line keep one set of rules: the same checks, the same audit
entries and the same crediting of feedback that waited for a newly mapped identity.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as browser
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.auth import roles_required
from core.db import get_session
from core.email_change import EmailChangeError, change_email
from core.models import Employee, Team
from core.people_import import COLUMNS, PersonRowSchema, import_people, import_rows
from web.pages.people import DayField, employee_or_404

bp = Blueprint("person_details", __name__)

#: The largest organisation file a page imports, some 12,000 people: about ten seconds' work, well inside a web
#: worker's time (gunicorn's 30 s). A larger file goes through ``plaudit org import`` on the server.
IMPORT_LIMIT = 1024 * 1024

IDENTITIES_HINT = ("The accounts feedback names them by, as provider:id separated by ';', such as "
                   "zendesk:361; phone:214. Feedback waiting for one of them is credited to them.")
#: What an identity someone else holds is answered with here (the command line names its own command).
MOVE_HINT = ("leave it out here; if it is this person's now, move it on the server with "
             "plaudit org move-identity {identity} --to EMPLOYEE")


class PersonForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("give their name"), Length(max=200)])
    email = StringField("E-mail", validators=[DataRequired("give their e-mail address"), Length(max=320)],
                        render_kw={"type": "email", "spellcheck": "false"})
    team = StringField("Team", validators=[DataRequired("give their team"), Length(max=200)],
                       render_kw={"list": "teams"})
    lead = BooleanField("They lead this team (its manager: alerts and the team's digest go to them)")
    identities = StringField("Identities", validators=[Length(max=2000)], render_kw={"spellcheck": "false"})
    started_on = DayField("The day they joined (empty: not known)", format="%Y-%m-%d", render_kw={"type": "date"},
                          validators=[Optional()])


class DetailsForm(PersonForm):
    """The same, for someone already here: their e-mail changes on its own form, identities are added."""
    email = None
    started_on = None
    identities = StringField("Identities to add", validators=[Length(max=2000)], render_kw={"spellcheck": "false"})


class EmailForm(FlaskForm):
    address = StringField("New e-mail", validators=[InputRequired("give the new address"), Length(max=320)],
                          render_kw={"type": "email", "spellcheck": "false"})


class ImportForm(FlaskForm):
    file = FileField("The organisation file (CSV, UTF-8)")
    check_only = BooleanField("Only check it: import nothing")
    #: A new one on every page: a reload of the page an import answered sends the same one again.
    sending = HiddenField()


#: How many imports' page ids a browser's session remembers, for a reload to be known.
REMEMBERED_IMPORTS = 5


@bp.route("/people/new", methods=["GET", "POST"])
@roles_required("hr")
def new():
    """Add someone who joined: POST creates them (and their team, if it is new)."""
    session = get_session()
    form = PersonForm()
    if form.validate_on_submit():
        data = _row(form, {"email": form.email.data})
        holder = data and session.scalar(select(Employee).where(func.lower(Employee.email) == data["email"].lower()))
        if holder is not None:
            form.email.errors = [(f"{holder.name} has this address already (employee {holder.id}): open their page "
                                 f"to change their team or name, or give this person another address")]
        elif data:
            lead_before = session.scalar(select(Employee.name).join(Team, Team.manager_id == Employee.id)
                                         .where(Team.name == data["team"]))
            report = import_rows(session, [(1, data)], actor=current_user.id, note="people page")
            if _refused(form, report):
                session.rollback()
            else:
                employee = session.scalar(select(Employee).where(func.lower(Employee.email) == data["email"].lower()))
                try:
                    session.commit()
                except IntegrityError:  # another HR person added this address a moment before
                    session.rollback()
                    form.email.errors = [f"{data['email']} was added just now by someone else: open People"]
                    return _form_page("people/new.html", form, session)
                flash(f"{employee.name} is added to {data['team']}"
                      + (" (a new team)" if report.teams_created else "")
                      + ((" and leads it" + (f" in place of {lead_before}" if lead_before else "")) if data["lead"]
                         else "") + _credited(report.credited) + ".")
                return redirect(url_for("people.person", employee_id=employee.id), code=303)
    return _form_page("people/new.html", form, session)


@bp.route("/people/<int:employee_id>/edit", methods=["GET", "POST"])
@roles_required("hr")
def edit(employee_id: int):
    """Correct someone's name or team, make them their team's lead, add identities: POST saves."""
    session = get_session()
    employee = employee_or_404(session, employee_id, lock=request.method == "POST")
    team = session.get(Team, employee.team_id) if employee.team_id is not None else None
    leads = team is not None and team.manager_id == employee.id
    form, email = _details(employee, team), EmailForm(formdata=None)
    if form.validate_on_submit():
        data = _row(form, {"email": employee.email or "", "employee": employee, "started_on": None})
        if data and not employee.active:  # a leaver leads nobody, and feedback is not credited to them now
            # One who still leads their team keeps the box ticked: no change, unless they move
            if data["lead"] and not (leads and data["team"] == team.name):
                form.lead.errors = ["they have left: bring them back first (on their page) to make them lead"]
            if data["identities"]:
                form.identities.errors = [("they have left: feedback from now on is not theirs; bring them back "
                                          "first (on their page) to add an identity")]
        if data and not form.errors:
            known = {(i.provider, i.external_id) for i in employee.identities}
            led = team.id if leads else None
            report = import_rows(session, [(1, data)], actor=current_user.id, note="people page")
            if _refused(form, report):
                session.rollback()
            else:
                said = [change.split(": ", 1)[1] for change in report.changes]
                said += [f"identity {p}:{e} added" for p, e in data["identities"] if (p, e) not in known]
                if data["lead"] and employee.team.manager is employee and employee.team_id != led:
                    said.append(f"leads {employee.team.name}")
                still = session.scalars(select(Team.name).where(Team.manager_id == employee.id,
                                                                Team.id != employee.team_id).order_by(Team.name)).all()
                session.commit()
                flash(f"{employee.name}: {'; '.join(said) or 'nothing changed'}{_credited(report.credited)}."
                      + (f" They still lead {', '.join(still)}: make one of its members its lead on their page, or "
                         f"its alerts and digest go to someone outside it." if still else ""))
                return redirect(url_for("people.person", employee_id=employee.id), code=303)
    return _edit_page(session, employee, form, email)


@bp.post("/people/<int:employee_id>/email")
@roles_required("hr")
def email(employee_id: int):
    """Give someone a new e-mail address (a new name, a new domain): their old one stays theirs as an identity."""
    session = get_session()
    employee = employee_or_404(session, employee_id, lock=request.method == "POST")
    form = EmailForm()
    if form.validate():
        try:
            change = change_email(session, employee, form.address.data, actor=current_user.id)
        except EmailChangeError as exc:
            session.rollback()
            form.address.errors = [str(exc)]
        else:
            session.commit()
            flash(f"{employee.name}'s e-mail is now {change.after}"
                  + (", and their account signs in with it" if change.account else "")
                  + (f"; {change.before} stays theirs as an identity" if change.kept_identity else "")
                  + _credited(len(change.credited)) + ".")
            return redirect(url_for("people.person", employee_id=employee.id), code=303)
    team = session.get(Team, employee.team_id) if employee.team_id is not None else None
    return _edit_page(session, employee, _details(employee, team, formdata=None), form)


def _details(employee: Employee, team: Team | None, **formdata) -> DetailsForm:
    """The details form, filled in with what is stored (and ``formdata=None``: with that alone)."""
    return DetailsForm(**formdata, data={"name": employee.name, "team": team.name if team else "",
                                         "lead": team is not None and team.manager_id == employee.id})


@bp.route("/people/import", methods=["GET", "POST"])
@roles_required("hr")
def import_file():
    """Import the organisation file: every row checked before anything is written, each fault named by line."""
    session = get_session()
    form = ImportForm()
    report = lines_read = None
    sent_again = form.is_submitted() and bool(form.sending.data) and form.sending.data in browser.get(
        "imports_sent", [])
    if not sent_again and form.validate_on_submit():
        upload = form.file.data
        text = _text(form, upload.read() if upload else b"")
        if text is not None:
            report = import_people(session, text.splitlines(), actor=current_user.id, note="people page import")
            lines_read = report.created + report.updated + report.unchanged
            if report.errors or form.check_only.data:
                session.rollback()
            else:
                session.commit()
                # An import again would bring back a leaver recorded since: a reload must not send it again.
                if form.sending.data:
                    browser["imports_sent"] = [*browser.get("imports_sent", [])[-REMEMBERED_IMPORTS + 1:],
                                               form.sending.data[:32]]
    checked = report is not None and not report.errors and form.check_only.data
    form.check_only.data = False if checked else form.check_only.data  # checked: the next sending imports
    form.sending.data = secrets.token_urlsafe(12)
    status = 400 if form.errors or (report and report.errors) else 200
    return render_template("people/import.html", form=form, report=report, columns=COLUMNS, rows=lines_read,
                           limit=IMPORT_LIMIT, sent_again=sent_again, checked=checked), status


def _row(form: PersonForm, given: dict) -> dict | None:
    """The form as an organisation file's row, checked by its schema; None, with the fields marked, if refused."""
    raw = {"name": form.name.data.strip(), "team": form.team.data.strip(), "lead": "yes" if form.lead.data else "no",
           "identities": form.identities.data or ""}
    email = given.pop("email").strip()
    if email:  # someone already here may have none; they are found by their id
        raw["email"] = email
    if getattr(form, "started_on", None) is not None and form.started_on.data is not None:
        raw["started_on"] = form.started_on.data.isoformat()
    try:
        data = PersonRowSchema().load(raw, partial=("email",) if "employee" in given else ())
    except ValidationError as exc:
        _mark(form, exc.messages)
        return None
    data["move_hint"] = MOVE_HINT
    return {**data, **given}


def _refused(form, report) -> bool:
    """Mark the fields a refused import names; whether it was refused."""
    for _, messages in report.errors:
        _mark(form, messages)
    return bool(report.errors)


def _mark(form, messages: dict) -> None:
    for name, problems in messages.items():
        field = getattr(form, name, None) or form.name
        field.errors = [*field.errors, *(problems if isinstance(problems, list) else [str(problems)])]


def _credited(count: int) -> str:
    return (f"; {count} feedback item{'s' if count != 1 else ''} waiting for their identities "
            f"{'are' if count != 1 else 'is'} credited to them") if count else ""


def _text(form: ImportForm, data: bytes) -> str | None:
    """The file's text, or None with the field marked: empty, or not UTF-8 (naming the line)."""
    if not data:
        form.file.errors = ["choose the organisation file (a CSV file with a header line)"]
        return None
    if not data.strip():
        form.file.errors = ["the file is empty: it needs a header line and a row for each person"]
        return None
    if len(data) > IMPORT_LIMIT:
        form.file.errors = [(f"the file is {len(data) / 1048576:.1f} MB, over the {IMPORT_LIMIT // 1048576} MB a page "
                            f"imports: import it on the server with plaudit org import FILE")]
        return None
    try:
        return data.decode("utf-8-sig")  # the BOM some spreadsheets write is not part of the first name
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        form.file.errors = [f"line {line} is not UTF-8 text: save the file as CSV UTF-8 and choose it again"]
        return None


def _form_page(template: str, form, session, **context):
    teams = session.scalars(select(Team.name).order_by(Team.name)).all()
    return render_template(template, form=form, teams=teams, identities_hint=IDENTITIES_HINT,
                           **context), 400 if form.errors else 200


def _edit_page(session, employee: Employee, form: DetailsForm, email: EmailForm):
    page, status = _form_page("people/edit.html", form, session, employee=employee, email=email)
    return page, 400 if form.errors or email.errors else status
