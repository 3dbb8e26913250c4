"""Passwords: anyone signed in changes their own (every other browser signed in with the old one is signed out),
and someone who forgot theirs sets a new one through a link sent to their address (:mod:`core.password_reset`)."""
from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Regexp

from core.accounts import password_problem, set_account_password
from core.auth import authenticated, public
from core.db import get_session
from core.models import User
from core.password_reset import LINK_LIFETIME, ask_for_link, user_for_token
from core.throttle import (
    LoginLimits,
    attempt_keys,
    record_failure,
    seconds_locked,
)

bp = Blueprint("password", __name__)
log = logging.getLogger(__name__)


class NewPasswordForm(FlaskForm):
    """A new password, typed twice; the accounts page's form for an admin to give one too."""
    password = PasswordField("New password", validators=[InputRequired("give the new password")],
                             render_kw={"autocomplete": "new-password"})
    again = PasswordField("The new password again", validators=[EqualTo("password", "the two passwords differ")],
                          render_kw={"autocomplete": "new-password"})


class PasswordChangeForm(NewPasswordForm):
    current = PasswordField("Your password now", validators=[InputRequired("give your password now"),
                                                             Length(max=200)],
                            render_kw={"autocomplete": "current-password"})


@bp.route("/password", methods=["GET", "POST"])
@authenticated
def change():
    """The form; POST changes the password once the present one is given."""
    session = get_session()
    user = session.get(User, current_user.id, with_for_update=request.method == "POST")
    form = PasswordChangeForm()
    # Every field at fault named at once: the checks below run whatever the form's own found, but never on a
    # form sent from elsewhere (no CSRF token), which could otherwise lock the account by guessing for it.
    if form.is_submitted() and (form.validate() or not form.csrf_token.errors):
        limits = LoginLimits.from_config(current_app.config)
        # The sign-in's own count: a browser left signed in is no way round its lock on guessing the password.
        keys = attempt_keys(current_app.config["SECRET_KEY"], user.email, request.remote_addr)
        wait = seconds_locked(session, keys, limits)
        if wait:
            minutes = -(-wait // 60)
            form.current.errors = [(f"too many wrong passwords: try again in {minutes} minute"
                                   f"{'s' if minutes != 1 else ''}")]
        elif form.current.data and not user.check_password(form.current.data):
            record_failure(session, keys, limits)
            session.commit()
            log.warning("password change refused for user %s: wrong present password", user.id)
            form.current.errors = ["this is not your password now"]
        if form.password.data and (problem := password_problem(form.password.data)):
            form.password.errors = [*form.password.errors, problem]
        elif form.password.data and form.password.data == form.current.data:
            form.password.errors = [*form.password.errors, "choose a password other than the one you have"]
        if not form.errors:
            set_account_password(session, user, form.password.data, action="user.password_changed", actor=user.id)
            session.commit()
            login_user(user)  # this browser stays signed in; the others, with the old password's fingerprint, do not
            flash("Your password is changed. Browsers signed in with the old one are signed out.")
            return redirect(url_for("pages.home"), code=303)
    return render_template("password.html", form=form), 400 if form.errors else 200


class ForgottenForm(FlaskForm):
    email = EmailField("Your e-mail", validators=[
        DataRequired("give the address you sign in with"), Length(max=320),
        Regexp(r"^[^@\s]+@[^@\s]+$", message="give an e-mail address")], render_kw={"autocomplete": "email"})


class ResetForm(NewPasswordForm):
    token = HiddenField()


@bp.route("/password/forgotten", methods=["GET", "POST"])
@public
def forgotten():
    """Ask for a link to set a new password; the answer is the same whether the address has an account or not."""
    form = ForgottenForm()
    mails = bool(current_app.config["MAIL_SERVER"])
    if mails and form.validate_on_submit():
        session = get_session()
        ask_for_link(session, form.email.data)
        session.commit()
        flash(f"If {form.email.data.strip()} signs in to Plaudit, a link to set a new password is on its way to it: "
              f"it works once, within {LINK_LIFETIME // 60} minutes.")
        return redirect(url_for("auth.login"), code=303)
    return render_template("password_forgotten.html", form=form, mails=mails), 400 if form.errors else 200


@bp.route("/password/reset", methods=["GET", "POST"])
@public
def reset():
    """The link's page: a new password, typed twice. The token comes in the query (kept out of the access log)."""
    session = get_session()
    form = ResetForm(token=request.args.get("token", ""))
    # Locked on POST: a link sent twice at once sets one password, the second finds the link used.
    user = user_for_token(session, form.token.data or "", lock=request.method == "POST")
    if user is None:
        return _private(render_template("password_reset.html", form=None), 400)
    if form.validate_on_submit():
        if problem := password_problem(form.password.data):
            form.password.errors = [problem]
        else:
            set_account_password(session, user, form.password.data, action="user.password_reset", actor=user.id)
            session.commit()
            flash("Your new password is set: sign in with it.")
            return redirect(url_for("auth.login"), code=303)
    return _private(render_template("password_reset.html", form=form), 400 if form.errors else 200)


def _private(page: str, status: int):
    """The link's page: its address holds the token, so no Referer carries it to the page's styles and links
    (and on into access logs), and no cache keeps it."""
    return page, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
