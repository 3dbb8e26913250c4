"""Anyone signed in changes their own password; every other browser signed in with the old one is signed out."""
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
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from core.accounts import password_problem
from core.auth import authenticated
from core.db import get_session
from core.models import User, record_audit
from core.throttle import LoginLimits, attempt_keys, record_failure, seconds_locked

bp = Blueprint("password", __name__)
log = logging.getLogger(__name__)


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Your password now", validators=[InputRequired("give your password now"),
                                                             Length(max=200)],
                            render_kw={"autocomplete": "current-password"})
    password = PasswordField("New password", validators=[InputRequired("give the new password")],
                             render_kw={"autocomplete": "new-password"})
    again = PasswordField("The new password again", validators=[EqualTo("password", "the two passwords differ")],
                          render_kw={"autocomplete": "new-password"})


@bp.route("/password", methods=["GET", "POST"])
@authenticated
def change():
    """The form; POST changes the password once the present one is given."""
    session = get_session()
    user = session.get(User, current_user.id, with_for_update=request.method == "POST")
    form = PasswordChangeForm()
    if form.validate_on_submit():
        limits = LoginLimits.from_config(current_app.config)
        # The sign-in's own count: a browser left signed in is no way round its lock on guessing the password.
        keys = attempt_keys(current_app.config["SECRET_KEY"], user.email, None)
        if seconds_locked(session, keys, limits):
            form.current.errors = ["too many wrong passwords: try again later"]
        elif not user.check_password(form.current.data):
            record_failure(session, keys, limits)
            session.commit()
            log.warning("password change refused for user %s: wrong present password", user.id)
            form.current.errors = ["this is not your password now"]
        elif problem := password_problem(form.password.data):
            form.password.errors = [problem]
        elif form.password.data == form.current.data:
            form.password.errors = ["choose a password other than the one you have"]
        else:
            user.set_password(form.password.data)
            record_audit(session, "user.password_changed", user, actor=user.id)
            session.commit()
            login_user(user)  # this browser stays signed in; the others, with the old password's fingerprint, do not
            flash("Your password is changed. Browsers signed in with the old one are signed out.")
            return redirect(url_for("pages.home"), code=303)
    return render_template("password.html", form=form), 400 if form.errors else 200
