"""Larger request bodies for the few views that take them, such as a mystery report with a camera's photos.

Every other request keeps the app's ``MAX_CONTENT_LENGTH``. The limit is set before any hook reads the body:
CSRF's check reads the form, and a body past the limit read there is a bare 413 that loses what was typed.
"""
from __future__ import annotations

from flask import abort, current_app, request
from flask_login import current_user

KEY = "plaudit.request_limits"


def allow_larger(app, endpoint: str, limit: int, *roles: str) -> None:
    """Let POSTs to ``endpoint`` by a signed-in user with one of ``roles`` carry up to ``limit`` bytes (never
    less than the app's own limit). Anyone else is held to the app's limit: before sign-in is checked, an
    anonymous request could otherwise make the server read that much for nothing."""
    app.extensions.setdefault(KEY, {})[endpoint] = (limit, roles)


def init_app(app) -> None:
    """Register the hooks; call it before anything that registers hooks reading the body (CSRF)."""
    app.before_request(_apply)
    app.before_request(_refuse_too_large)


def _apply() -> None:
    allowed = current_app.extensions.get(KEY, {}).get(request.endpoint)
    if allowed is None or request.method != "POST":
        return
    limit, roles = allowed
    if current_user.is_authenticated and current_user.has_role(*roles):
        request.max_content_length = max(limit, current_app.config["MAX_CONTENT_LENGTH"] or 0)


def _refuse_too_large() -> None:
    """413 naming the limit, before anything reads the body; and for a body sent in chunks, at all.

    Werkzeug stops reading a chunked body at the limit without a word, so a body over it was parsed cut short
    and answered 400 ("not valid JSON") or 422, which a sender retries for ever. Such a body is read here (it
    is read anyway, and kept for the view), and one that fills the limit is refused.
    """
    limit = request.max_content_length
    if limit is None or request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.content_length is not None:
        if request.content_length > limit:
            abort(413, description=_too_large(f"{request.content_length:,} bytes", limit))
        return
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if chunked and len(request.get_data(cache=True)) >= limit:
        abort(413, description=_too_large("sent in chunks, reached the limit", limit))


def _too_large(size: str, limit: int) -> str:
    setting = " (PLAUDIT_MAX_CONTENT_LENGTH)" if limit == current_app.config["MAX_CONTENT_LENGTH"] else ""
    return f"the body ({size}) is over the {limit:,} bytes taken here{setting}"
