"""The web layer: server-rendered pages, the REST API v1 and the health check."""
from __future__ import annotations

from flask import jsonify, render_template, request


def init_app(app) -> None:
    from . import api, health, pages, sessions

    app.register_blueprint(health.bp)
    app.register_blueprint(sessions.bp)
    app.register_blueprint(pages.bp)
    api.init_app(app)
    app.after_request(_security_headers)
    for status in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(status, _error_page)


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Nothing is loaded from elsewhere: every script and style is served by the app itself.
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    return response


def _error_page(error):
    status = getattr(error, "code", 500) or 500
    description = getattr(error, "description", None) if status != 500 else None
    if request.path.startswith("/api/"):
        # flask-smorest's abort(..., message=...) keeps the message in ``data``.
        message = (getattr(error, "data", None) or {}).get("message") or description or "internal error"
        return jsonify(code=status, message=message), status
    return render_template("error.html", status=status, description=description), status
