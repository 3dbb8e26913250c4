"""``GET /healthz``: whether the database and the queue can be reached, and the schema is migrated, for load
balancers.

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
from core.migrate import behind_message, revisions, schema_state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Answer 200 while the database answers (``degraded`` if the queue does not), else 503."""
    checks, healthy, degraded = {}, True, False
    try:
        revision = get_db().ping()
        checks["database"] = {"status": "ok", "dialect": get_db().dialect}
    except SQLAlchemyError as exc:  # the message may name the host: log the kind of failure, don't echo
        current_app.logger.warning("health check: database unreachable (%s; see PLAUDIT_DATABASE_URL)",
                                   type(exc).__name__)
        checks["database"] = {"status": "unreachable", "error": type(exc).__name__}
        healthy = False
    else:
        checks["schema"], healthy, degraded = _schema(revision)
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


def _schema(revision: str | None) -> tuple[dict, bool, bool]:
    """The schema check, and whether the node is healthy and degraded by it.

    A schema this code's migrations have not reached (none at all, or an older revision: ``plaudit db upgrade``
    was forgotten) fails every request that writes, so the node is taken out. A newer one (new code's
    migration run while this node still serves, during a deploy) is only degraded: migrations add before they
    remove, so the old code goes on working until it is replaced.
    """
    state, head = schema_state(revision), revisions()[0]
    if state == "ok":
        return {"status": "ok", "revision": revision}, True, False
    if state == "behind":
        current_app.logger.error("health check: %s", behind_message(revision))
        return {"status": "behind", "revision": revision, "needs": head}, False, False
    return {"status": "newer", "revision": revision, "needs": head}, True, True
