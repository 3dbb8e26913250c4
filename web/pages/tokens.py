"""Admins' API tokens page: every token with its state, a form to issue one (shown once), and revoking."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core.api_tokens import (
    LONGEST_DAYS,
    NAME_LIMIT,
    TokenError,
    issue_token,
    revoke_token,
    token_state,
)
from core.auth import API_SCOPES, SHOPPER_SCOPES, TOKEN_ROLES, roles_required
from core.db import get_session
from core.models import ApiToken, User, UserRole, utcnow

bp = Blueprint("tokens", __name__, url_prefix="/admin")


@bp.route("/tokens", methods=["GET", "POST"])
@roles_required("admin")
def index():
    """List the tokens; POST issues one and shows it, once, on the page answered (never in a flash or a log)."""
    session = get_session()
    errors, posted, issued = {}, {}, None
    if request.method == "POST":
        posted = request.form
        raw_days = posted.get("days", "").strip()
        # Empty: no expiry. Anything but a day count goes through as one out of range, to be named with the rest.
        days = None
        if raw_days:
            try:
                days = int(raw_days) if len(raw_days) <= 6 else -1
            except ValueError:  # "soon", "²" (a digit to isdigit, not to int)
                days = -1
        try:
            token, plain = issue_token(session, posted.get("owner", ""), posted.get("name", ""),
                                       posted.getlist("scopes"), days, actor=current_user,
                                       form=posted.get("form_id", "")[:64] or None)
        except TokenError as exc:
            session.rollback()
            errors = exc.problems
        else:
            issued = {"plain": plain, "prefix": token.prefix, "name": token.name, "owner": token.user.email,
                      "expires_at": token.expires_at}
            session.commit()
            posted = {}
    tokens = session.execute(
        select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    # Who a token may act for: admin and HR accounts (service accounts too), and shoppers for their agency.
    owners = session.execute(
        select(User.email, User.name).join(UserRole).where(
            User.active, UserRole.role.in_((*TOKEN_ROLES, "shopper")))
        .distinct().order_by(User.email)).all()
    now = utcnow()
    rows = [{"token": token, "owner": email, "state": token_state(token, now)} for token, email in tokens]
    # Each form its own id: the page answering a POST is not redirected (it shows the token once), so a reload
    # sends the form again, and its id tells that apart from a second token asked for.
    return render_template("admin/tokens.html", rows=rows, owners=owners, scopes=API_SCOPES,
                           form_id=secrets.token_urlsafe(16),
                           shopper_scopes=SHOPPER_SCOPES, errors=errors, posted=posted, issued=issued,
                           name_limit=NAME_LIMIT, longest_days=LONGEST_DAYS), (400 if errors else 200)


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke(token_id: int):
    """Revoke a token now (audited); the systems using it are refused from their next call."""
    session = get_session()
    token = session.get(ApiToken, token_id)
    if token is None:
        abort(404, description=f"There is no API token {token_id}.")
    changed = revoke_token(session, token, actor=current_user)
    session.commit()
    flash(f"Token {token.prefix}… ({token.name}) revoked: calls with it are refused from now on." if changed
          else f"Token {token.prefix}… ({token.name}) was revoked already.")
    return redirect(url_for(".index"), 303)
