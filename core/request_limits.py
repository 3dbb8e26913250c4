"""Larger request bodies for the few views that take them, such as a mystery report with a camera's photos.

Every other request keeps the app's ``MAX_CONTENT_LENGTH``. The limit is set before any hook reads the body:
CSRF's check reads the form, and a body past the limit read there is a bare 413 that loses what was typed.
"""
from __future__ import annotations

from flask import current_app, request

KEY = "plaudit.request_limits"


def allow_larger(app, endpoint: str, limit: int) -> None:
    """Let requests to ``endpoint`` carry up to ``limit`` bytes."""
    app.extensions.setdefault(KEY, {})[endpoint] = limit


def init_app(app) -> None:
    """Register the hook; call it before anything that registers hooks reading the body (CSRF)."""
    app.before_request(_apply)


def _apply() -> None:
    limit = current_app.extensions.get(KEY, {}).get(request.endpoint)
    if limit:
        request.max_content_length = limit
