"""``GET /healthz``: whether the database and the job queue can be reached, for load balancers."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from core.auth import public
from core.db import get_db
from core.jobs import redis_connection

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Answer 200 when everything needed is reachable, 503 with what is not."""
    checks, healthy = {}, True
    try:
        get_db().ping()
        checks["database"] = {"status": "ok", "dialect": get_db().dialect}
    except SQLAlchemyError as exc:  # the message may name the host: log the kind of failure, don't echo
        current_app.logger.warning("health check: database unreachable (%s)", type(exc).__name__)
        checks["database"] = {"status": "unreachable", "error": type(exc).__name__}
        healthy = False
    connection = redis_connection()
    if connection is None:
        checks["queue"] = {"status": "inline"}
    else:
        try:
            connection.ping()
            checks["queue"] = {"status": "ok"}
        except RedisError as exc:
            checks["queue"] = {"status": "unreachable", "error": type(exc).__name__}
            healthy = False
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503
