"""Signing in and out; repeated failed sign-ins are throttled (core/throttle.py)."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from core.accounts import user_by_email
from core.auth import authenticated, public
from core.db import get_session
from core.models import User, utcnow
from core.throttle import (
    LoginLimits,
    attempt_keys,
    clear_account,
    record_failure,
    seconds_locked,
)

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)
_DUMMY_HASH = generate_password_hash("no account has this password")


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320),
                                              Regexp(r"^[^@\s]+@[^@\s]+$", message="Enter an e-mail address.")])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute URL here would make the login page an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Show the sign-in form; sign the user in on a valid POST."""
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        limits = LoginLimits.from_config(current_app.config)
        keys = attempt_keys(current_app.config["SECRET_KEY"], form.email.data, request.remote_addr)
        wait = seconds_locked(session, keys, limits)
        if wait:
            # Refused before the password is even checked: a right guess during the lock tells nothing.
            log.warning("sign-in refused from %s: locked for %s s after repeated failures", request.remote_addr, wait)
            minutes = -(-wait // 60)
            form.password.errors.append(f"Too many failed sign-ins: try again in {minutes} minute"
                                        f"{'s' if minutes != 1 else ''}.")
            return render_template("login.html", form=form), 429, {"Retry-After": str(wait)}
        user = user_by_email(session, form.email.data)
        # Hash the password whether or not the account exists, so timing does not tell which e-mails do.
        password_ok = user.check_password(form.password.data) if user else check_password_hash(
            _DUMMY_HASH, form.password.data)
        if user is not None and password_ok and user.active and user.roles:
            # A CSRF token handed out before sign-in (to whoever planted this browser's cookie) is not carried
            # into the signed-in session: Flask-WTF makes a new one.
            cookie_session.pop("csrf_token", None)
            login_user(user)
            user.last_login_at = utcnow()
            clear_account(session, keys)
            session.commit()
            log.info("user %s signed in from %s", user.id, request.remote_addr)
            return redirect(_safe_next(request.args.get("next")))
        # Unknown e-mails count too, so being locked out does not tell which e-mails have accounts either.
        record_failure(session, keys, limits)
        session.commit()
        # Which account, not what was typed: an e-mail field can hold a password pasted in the wrong box.
        if user is None:
            why = "an e-mail with no account"
        else:
            why = (f"user {user.id}: " + ("wrong password" if not password_ok else
                                          "account deactivated" if not user.active else "account holds no role"))
        log.warning("sign-in failed from %s for %s", request.remote_addr, why)
        # One message for both cases, so the form does not reveal which e-mails have accounts.
        form.password.errors.append("E-mail or password is wrong.")
    return render_template("login.html", form=form), 200 if request.method == "GET" or not form.errors else 401


@bp.after_app_request
def _strict_transport(response):
    """Tell browsers to use HTTPS only, where the session cookie is sent over HTTPS only.

    Only then: a deployment on plain HTTP (the embedded default) would otherwise lock its own users out.
    """
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


@bp.post("/logout")
@authenticated
def logout():
    """Sign out (POST with a CSRF token, so a link elsewhere cannot sign anyone out) on every device.

    Sessions live in the signed cookie, so clearing this browser's left a copy of the cookie signed in: the
    account's session epoch moves on, which every session made before checks (``User.session_fingerprint``).
    """
    account = get_session().get(User, current_user.id)
    if account is not None:
        account.session_epoch += 1
        get_session().commit()
    logout_user()
    cookie_session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login", out=1))  # the page then forgets answers kept in this browser
