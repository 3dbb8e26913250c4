"""The web layer: server-rendered pages, the REST API v1 and the health check."""
from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from urllib.parse import quote

from flask import current_app, g, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from appraisal.comments import redact
from appraisal.periods import counted, dates_text, run_made_early
from core import local_time
from core.db import database_unreachable

#: ``app.extensions`` key: path prefixes besides /api/ whose errors are answered as JSON (a blueprint that
#: machines call, such as the social push endpoint, adds its own).
JSON_ERROR_PATHS_KEY = "plaudit.json_error_paths"


def init_app(app) -> None:
    from . import answers, api, health, navigation, pages, sessions
    from .arguments import refuse_nul_characters

    app.register_blueprint(health.bp)
    app.register_blueprint(sessions.bp)
    for blueprint in pages.blueprints():
        app.register_blueprint(blueprint)
    api.init_app(app)
    navigation.init_app(app)
    answers.init_app(app)
    app.jinja_env.globals["here"] = _here
    app.jinja_env.filters["redact"] = redact
    app.jinja_env.filters["periods"] = counted  # {{ 3|periods('week') }}: 3 weeks
    app.jinja_env.globals["period_days"] = dates_text  # {{ period_days(run.period_start, run.period_end) }}
    app.jinja_env.filters["local"] = _local  # {{ item.occurred_at|local('%Y-%m-%d %H:%M') }}
    app.jinja_env.globals["zone_label"] = local_time.zone_name  # Last activity ({{ zone_label() }})
    app.jinja_env.globals["run_early"] = run_made_early  # {% set early = run_early(run) %}
    app.before_request(refuse_nul_characters)
    app.after_request(_security_headers)
    for status in (400, 403, 404, 405, 413, 415, 500, 503):
        app.register_error_handler(status, _error_page)
    app.register_error_handler(OperationalError, _database_unavailable)


def _local(moment, fmt: str) -> str:
    """A stored time (or its ISO form, as lineage gives it) as the organisation's clock shows it; nothing for none."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return "" if moment is None else local_time.in_zone(moment).strftime(fmt)


def _here() -> str:
    """The page's own address for a form that posts back to it (``action="{{ here() }}"``). A form without an
    action posts to the address bar's, with its fragment: after the skip link (``#main``), the answer opened at
    ``<main>`` and the browser's jump there took focus from the error summary."""
    query = request.query_string.decode("latin-1")
    return request.script_root + quote(request.path) + (f"?{query}" if query else "")


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Nothing is loaded from elsewhere: every script and style is served by the app itself.
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    # A page for someone signed in, or an API answer, is that person's: no shared cache, nor the browser's
    # history on a shared machine, keeps it. Static files keep their own caching.
    if request.endpoint != "static" and (request.path.startswith("/api/") or current_user.is_authenticated):
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


def _error_page(error):
    status = getattr(error, "code", 500) or 500
    description = getattr(error, "description", None) if status != 500 else None
    # What the error says beside its body: Allow on a 405, Retry-After, WWW-Authenticate (its own body's type
    # aside). A 405 without Allow left a client to guess the methods.
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"] \
        if isinstance(error, HTTPException) else []
    if request.path.startswith(("/api/", *current_app.extensions.get(JSON_ERROR_PATHS_KEY, ()))):
        # flask-smorest's abort(..., message=...) keeps the message in ``data``; webargs' its ``messages``.
        data = getattr(error, "data", None) or {}
        message = data.get("message") or _said(data.get("messages")) or description or "internal error"
        return jsonify(code=status, status=HTTPStatus(status).phrase, message=message), status, headers
    return render_template("error.html", status=status, description=description), status, headers


def _said(messages) -> str | None:
    """webargs' ``{"json": ["Invalid JSON body."]}`` as one line: ``json: Invalid JSON body.``"""
    if not isinstance(messages, dict) or not messages:
        return None
    return "; ".join(f"{where}: {' '.join(map(str, said)) if isinstance(said, list) else said}"
                     for where, said in messages.items())


def _database_unavailable(error):
    """Answer 503 with Retry-After when the database cannot be reached: the client should try again.

    An operational error that is a fault in the statement (SQLite's ``no such function``, in a plugin's SQL)
    is a 500 with its traceback logged, as any other bug: a 503 would have every client retry it for ever.
    """
    if not database_unreachable(error):
        current_app.logger.error("Exception on %s [%s]", request.path, request.method,
                                 exc_info=(type(error), error, error.__traceback__))
        return _error_page(InternalServerError(original_exception=error))
    # The driver's message can name the host and user: log only the kind of failure, show none of it.
    current_app.logger.error("database unavailable: %s", type(error.orig).__name__ if error.orig else error)
    unavailable = ServiceUnavailable("The database is unavailable; nothing was saved. Try again shortly.")
    # The page is drawn for nobody in particular: loading the signed-in user (the menu shows their pages)
    # would ask the database again, and fail inside this handler into a bare 500.
    g._login_user = current_app.login_manager.anonymous_user()
    response = current_app.make_response(_error_page(unavailable))
    response.headers["Retry-After"] = "5"
    return response
