"""``GET /healthz``: whether the database and the queue can be reached, for load balancers.

Only the database decides the status code: without Redis, feedback is still accepted and its follow-up
work waits in the database, so taking the node out of a load balancer would turn a slowdown into an outage.
"""
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
    """Answer 200 while the database answers (``degraded`` if the queue does not), else 503."""
    checks, healthy, degraded = {}, True, False
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
            degraded = True
    status = "unavailable" if not healthy else "degraded" if degraded else "ok"
    return jsonify(status=status, checks=checks), 200 if healthy else 503
