"""Admins' accounts page: who signs in, with which roles and as whom; creating an account and changing one.

The same rules as ``plaudit users`` (:mod:`core.accounts`): one account per employee, the last admin keeps the
role and stays active, every change audited with who made it. A password typed here is the account's first
(or a new one after it was forgotten): pass it on by a safe way, as with the command.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from marshmallow.validate import Email
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    PasswordField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    StopValidation,
)

from core.accounts import (
    AccountError,
    change_roles,
    create_account,
    hold_admins,
    last_admin_refusal,
    link_account,
    password_problem,
    set_account_password,
    set_user_active,
)
from core.auth import roles_required
from core.db import get_session
from core.models import ROLES, Employee, User
from core.models.accounts import NO_PASSWORD
from web.pages.password import NewPasswordForm

bp = Blueprint("accounts", __name__, url_prefix="/admin")

#: What each role lets an account do, shown beside its box.
ROLE_TEXT = {
    "admin": "the admin pages: integrations, jobs, API tokens, accounts",
    "hr": "guidelines, runs, people, reviews and every report",
    "manager": "their teams' dashboards, targets, disputes and queue",
    "employee": "their own report and disputes",
    "shopper": "mystery-shopping assignments and reports",
}


def _an_address(form, field) -> None:
    """An e-mail address as the organisation file takes one (marshmallow's check: no extra package)."""
    try:
        Email(error="not an e-mail address")(field.data.strip())
    except ValidationError as exc:
        raise StopValidation(exc.messages[0]) from None


class Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AccountFields(FlaskForm):
    roles = Checkboxes("Roles", choices=list(ROLES))
    employee = StringField("Employee's e-mail (empty: appraised as nobody)", validators=[Length(max=320)],
                           render_kw={"type": "email", "spellcheck": "false"})


class NewAccountForm(AccountFields):
    email = StringField("E-mail (they sign in with it)", validators=[
        InputRequired("give the address they sign in with"), Length(max=320), _an_address],
        render_kw={"type": "email", "spellcheck": "false"})
    name = StringField("Name", validators=[DataRequired("give their name"), Length(max=200)])
    service = BooleanField("A service account: API tokens only, no password, never signs in")
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"})
    again = PasswordField("The password again", validators=[EqualTo("password", "the two passwords differ")],
                          render_kw={"autocomplete": "new-password"})


@bp.route("/accounts", methods=["GET", "POST"])
@roles_required("admin")
def index():
    """Every account; POST creates one."""
    session = get_session()
    form = NewAccountForm()
    if form.is_submitted():
        form.validate()  # then the checks below, so that every field at fault is named at once
        employee_id = _employee_id(session, form)
        password = None if form.service.data else form.password.data
        if form.service.data and form.password.data:
            form.password.errors = [*form.password.errors, "a service account has no password: leave it empty"]
        elif not form.service.data and password_problem(password):
            form.password.errors = [*form.password.errors, password_problem(password)]
        if not form.roles.data:
            form.roles.errors = ["tick at least one role: an account without one cannot sign in"]
        if not form.errors:
            try:
                user = create_account(session, email=form.email.data, name=form.name.data.strip(),
                                      roles=form.roles.data, employee_id=employee_id, password=password,
                                      actor=current_user.id)
            except AccountError as exc:
                session.rollback()
                getattr(form, exc.field).errors = [str(exc)]
            else:
                session.commit()
                flash((f"{user.email} can sign in now with the password you gave: pass it on to them by a safe way."
                       if password else f"{user.email} is a service account: issue its API tokens on API tokens.")
                      + _unlinked_warning(user, employee_id))
                return redirect(url_for(".account", user_id=user.id), code=303)
    rows = session.execute(
        select(User, Employee.name.label("employee"))
        .outerjoin(Employee, Employee.id == User.employee_id).order_by(func.lower(User.email))).all()
    return render_template("admin/accounts.html", form=form, rows=rows, role_text=ROLE_TEXT,
                           no_password=NO_PASSWORD), 400 if form.errors else 200


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def account(user_id: int):
    """One account; POST saves its roles and the employee it is."""
    session = get_session()
    if request.method == "POST":
        hold_admins(session)
    user = _user_or_404(session, user_id)
    linked = session.get(Employee, user.employee_id) if user.employee_id else None
    form = AccountFields(data={"roles": sorted(user.roles), "employee": linked.email if linked else ""})
    if form.validate_on_submit():
        employee_id = _employee_id(session, form, user.employee_id)
        if not form.roles.data:
            form.roles.errors = ["tick at least one role: to shut the account out, deactivate it"]
        elif user.id == current_user.id and "admin" not in form.roles.data:
            form.roles.errors = ["this is your own account: another admin takes your admin role away"]
        if not form.errors:
            try:
                before = change_roles(session, user, form.roles.data, actor=current_user.id)
                relinked = link_account(session, user, employee_id, actor=current_user.id)
            except AccountError as exc:
                session.rollback()
                getattr(form, exc.field).errors = [str(exc)]
            else:
                session.commit()
                said = []
                if user.roles != before:
                    said.append(f"roles {', '.join(sorted(user.roles)) or 'none'} (were "
                                f"{', '.join(sorted(before)) or 'none'})")
                if relinked:
                    said.append(f"is {form.employee.data.strip()}" if employee_id else "is no employee now")
                flash(f"{user.email}: {'; '.join(said) or 'nothing changed'}." + _unlinked_warning(user, employee_id))
                return redirect(url_for(".account", user_id=user.id), code=303)
    return _account_page(session, user, form, NewPasswordForm(formdata=None))


@bp.post("/accounts/<int:user_id>/active")
@roles_required("admin")
def active(user_id: int):
    """Shut the account out (signed out at its next page, its API tokens refused), or let it in again."""
    session = get_session()
    hold_admins(session)
    user = _user_or_404(session, user_id)
    wanted = request.form.get("active") == "yes"
    refusal = None if wanted else (
        "this is your own account: another admin deactivates it" if user.id == current_user.id
        else last_admin_refusal(session, user, "deactivating it"))
    if refusal:
        flash(f"Nothing changed: {refusal}.")
    elif user.active != wanted:
        set_user_active(session, user, wanted, actor=current_user.id)
        session.commit()
        service = user.password_hash == NO_PASSWORD
        flash((f"{user.email}'s API tokens work again." if service else f"{user.email} can sign in again.")
              if wanted else f"{user.email} can no longer sign in, and its API tokens are refused.")
    return redirect(url_for(".account", user_id=user.id), code=303)


@bp.post("/accounts/<int:user_id>/password")
@roles_required("admin")
def password(user_id: int):
    """Give the account a new password (one forgotten); its failed sign-ins are forgotten with the old one."""
    session = get_session()
    user = _user_or_404(session, user_id)
    form = NewPasswordForm()
    if user.password_hash == NO_PASSWORD:
        form.password.errors = ["a service account has no password and never signs in"]
    elif form.validate():
        problem = password_problem(form.password.data)
        if problem:
            form.password.errors = [problem]
        else:
            set_account_password(session, user, form.password.data, actor=current_user.id)
            session.commit()
            if user.id == current_user.id:  # this browser stays signed in, the others are signed out
                login_user(user)
            flash(f"{user.email} has a new password: pass it on to them by a safe way.")
            return redirect(url_for(".account", user_id=user.id), code=303)
    linked = session.get(Employee, user.employee_id) if user.employee_id else None
    fields = AccountFields(formdata=None, data={"roles": sorted(user.roles),
                                                "employee": linked.email if linked else ""})
    return _account_page(session, user, fields, form)


def _unlinked_warning(user: User, employee_id: int | None) -> str:
    """What an employee's or a manager's account without an employee lacks, said when it is saved so."""
    if employee_id is not None or not user.roles & {"employee", "manager"}:
        return ""
    return " It is no employee, so it has no report and leads no team: give the employee's e-mail to link it."


def _employee_id(session, form: AccountFields, linked: int | None = None) -> int | None:
    """The employee the form names by e-mail, or None; the field marked when nobody has that address, or when it
    is someone who has left (other than ``linked``, whom the account is already)."""
    address = (form.employee.data or "").strip()
    if not address:
        return None
    found = session.execute(select(Employee.id, Employee.active).where(
        func.lower(Employee.email) == address.lower())).first()
    if found is None:
        form.employee.errors = [f"no employee has the address {address} (People lists them)"]
        return None
    if not found.active and found.id != linked:  # a new link to someone no longer here
        form.employee.errors = [f"{address} has left: bring them back on People first"]
    return found.id


def _user_or_404(session, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=request.method == "POST")
    if user is None:
        abort(404, description=f"There is no account {user_id}.")
    return user


def _account_page(session, user: User, form: AccountFields, password_form: NewPasswordForm):
    linked = session.get(Employee, user.employee_id) if user.employee_id else None
    page = render_template("admin/account.html", user=user, linked=linked, form=form, password_form=password_form,
                           role_text=ROLE_TEXT, service=user.password_hash == NO_PASSWORD)
    return page, 400 if form.errors or password_form.errors else 200
