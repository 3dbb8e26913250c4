"""Sign-in and roles: Flask-Login sessions for people, hashed bearer tokens for the API.

Every view states who may call it with :func:`roles_required`, :func:`token_required` or :func:`public`;
a test walks the URL map and fails on any view that states nothing.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import abort, g, jsonify, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from .db import get_session
from .models import ApiToken, User, hash_token, utcnow

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()

ACCESS_ATTR = "plaudit_access"
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
#: Roles whose holders may own API tokens with any scope: feedback sent with a token is trusted as the
#: organisation's own.
TOKEN_ROLES = ("admin", "hr")
#: All a mystery shopper's token may do (their agency's systems call with it, acting for that shopper): read
#: and report on the shopper's own assignments, never anyone else's (web/api/mystery.py).
SHOPPER_SCOPES = ("mystery:read", "mystery:submit")
#: Every scope an API token may hold, with what it allows; ``plaudit tokens create --scope`` offers these.
API_SCOPES = {
    "feedback:read": "list the channels; read feedback items",
    "feedback:write": "send feedback to a channel",
    "org:read": "read teams, employees and social sources (addresses without their keys, never a secret)",
    "appraisal:read": "read appraisal runs and their results, guideline versions, targets and recommendations",
    "appraisal:write": "request an appraisal run",
    "guidelines:write": "publish a guideline version",
    "targets:write": "set targets",
    "review:write": "approve or reject recommendations",
    "mystery:read": "read mystery-shopping assignments (HR: every one; a shopper: their own)",
    "mystery:assign": "create mystery-shopping assignments (an HR account's token)",
    "mystery:submit": "submit a shopper's report on their own assignment (the shopper's token)",
}


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    csrf.init_app(app)
    public_endpoint(app, "static")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The session's user, if still active and still with the password the session was made with."""
    number, _, fingerprint = user_id.partition(":")
    if not number.isdigit():
        return None
    user = get_session().get(User, int(number))
    if user is None or not user.active or not hmac.compare_digest(fingerprint, user.session_fingerprint()):
        return None  # a session from before a password change (or before fingerprints): sign in again
    return user


def _mark(view: Callable, access: tuple[str, ...]) -> Callable:
    setattr(view, ACCESS_ATTR, access)
    return view


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone (the login page, health checks, public survey pages)."""
    return _mark(view, ("public",))


def public_endpoint(app, endpoint: str) -> None:
    """Declare a view we did not write (static files, the OpenAPI document) open to anyone."""
    app.extensions.setdefault("plaudit.public_endpoints", set()).add(endpoint)


def access_of(app, endpoint: str) -> tuple[str, ...] | None:
    """Return who may call ``endpoint`` as declared, or None if its view declares nothing."""
    if endpoint in app.extensions.get("plaudit.public_endpoints", ()):
        return ("public",)
    # MethodViews too: as_view() applies their ``decorators``, so the mark sits on the view function.
    return getattr(app.view_functions[endpoint], ACCESS_ATTR, None)


def roles_required(*roles: str) -> Callable:
    """Let only signed-in users holding one of ``roles`` through; others get a login redirect or 403."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        return _mark(wrapper, tuple(roles))
    return decorator


def authenticated(view: Callable) -> Callable:
    """Any signed-in user, even one whose roles were all taken away (so they can still sign out)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)
    return _mark(wrapper, ("authenticated",))


def signed_in(view: Callable) -> Callable:
    """Any signed-in user, whatever their role (their own account, the home page)."""
    from .models import ROLES

    return roles_required(*ROLES)(view)


def token_required(scope: str) -> Callable:
    """Let only requests bearing a live API token with ``scope`` through; answer 401/403 in JSON."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():  # the scheme is case-insensitive (RFC 9110)
                return _api_error(401, "send an API token as 'Authorization: Bearer <token>'")
            session = get_session()
            token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(presented.strip())))
            now = utcnow()
            if (token is None or token.revoked_at is not None or not token.user.active
                    or (token.expires_at is not None and token.expires_at <= now)):
                # A known token's id is logged: a leaver's or a revoked token still in use is what to look into.
                return _api_error(401, "the API token is unknown, revoked or expired", token)
            if scope not in token.scopes:
                return _api_error(403, f"the API token lacks the {scope!r} scope", token)
            refusal = _owner_refuses(token.user, scope)
            if refusal:
                # A token acts for its owner: it is worth no more than the owner's roles now.
                return _api_error(403, refusal, token)
            if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
                # Saved at once, and at most once a minute: read-only calls commit nothing else.
                token.last_used_at = now
                try:
                    session.commit()
                except OperationalError:  # a busy SQLite; the call matters more than its bookkeeping
                    session.rollback()
                    token = session.get(ApiToken, token.id)
            g.api_token = token
            return view(*args, **kwargs)
        return _mark(wrapper, (f"token:{scope}",))
    return decorator


def token_scopes_of(user: User) -> tuple[str, ...]:
    """The scopes a token acting for ``user`` may use now: any for admin and HR, the shopper's for a shopper."""
    if user.has_role(*TOKEN_ROLES):
        return tuple(API_SCOPES)
    return SHOPPER_SCOPES if user.has_role("shopper") else ()


def _owner_refuses(user: User, scope: str) -> str | None:
    allowed = token_scopes_of(user)
    if not allowed:
        return (f"the token's owner no longer holds a role allowed API tokens ({', '.join(TOKEN_ROLES)}, "
                f"or 'shopper' for {' and '.join(SHOPPER_SCOPES)})")
    if scope not in allowed:
        return (f"a shopper's token may use only {' and '.join(SHOPPER_SCOPES)}; {scope!r} needs a token of "
                f"an account holding {' or '.join(repr(r) for r in TOKEN_ROLES)}")
    return None


def _api_error(status: int, message: str, token: ApiToken | None = None):
    # Logged for operators, who otherwise cannot see a misconfigured client or someone trying tokens. Never the
    # token presented: only which known token it was, by the id `plaudit tokens list` shows.
    # No token at all is a client reaching the API by mistake: only worth a line at INFO. The path is quoted
    # (%r): an encoded newline in a URL must not write a line of its own into the log.
    level = logging.INFO if "Authorization" not in request.headers else logging.WARNING
    log.log(level, "API %s %r refused (%s) from %s%s: %s", request.method, request.path, status, request.remote_addr,
            f", token {token.id} of user {token.user_id}" if token is not None else "", message)
    response = jsonify(code=status, status={401: "Unauthorized", 403: "Forbidden"}[status], message=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="plaudit"'
    return response
