"""GET /healthz reports whether the database and the queue can be reached."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core.db import transaction
from core.migrate import revisions
from tests.fixtures.services import DEAD_REDIS_URL


def test_healthy_with_jobs_inline(client, database):
    response = client.get("/healthz")
    assert response.status_code == 200
    head = revisions()[0]
    assert response.get_json()["checks"] == {"database": {"status": "ok", "dialect": database.dialect},
                                             "schema": {"status": "ok", "revision": head},
                                             "queue": {"status": "inline"}}


def _stamp(app, revision):
    with app.app_context(), transaction() as session:
        session.execute(text("DELETE FROM alembic_version"))
        if revision is not None:
            session.execute(text("INSERT INTO alembic_version (version_num) VALUES (:revision)"),
                            {"revision": revision})


@pytest.fixture
def stamped(app):
    """Stamp the test database with another revision; the real one is put back after the test."""
    yield lambda revision: _stamp(app, revision)
    _stamp(app, revisions()[0])


def test_a_schema_not_migrated_takes_the_node_out(client, stamped, caplog):
    """A forgotten `plaudit db upgrade` made every write a 500 while /healthz said ok."""
    head, known = revisions()
    stamped(known[1])  # the revision before the head
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"
    assert response.get_json()["checks"]["schema"] == {"status": "behind", "revision": known[1], "needs": head}
    assert "run `plaudit db upgrade`" in caplog.text
    stamped(None)  # no revision at all: an empty database
    assert client.get("/healthz").get_json()["checks"]["schema"]["status"] == "behind"


def test_a_newer_schema_keeps_the_node_serving_as_degraded(client, stamped):
    """During a deploy the new code's migration runs while old nodes still serve: they stay in."""
    stamped("9999_from_newer_code")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "degraded"
    assert response.get_json()["checks"]["schema"]["status"] == "newer"


def test_healthy_with_real_redis(make_app, redis_url):
    response = make_app(REDIS_URL=redis_url).test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["checks"]["queue"] == {"status": "ok"}


def test_unreachable_redis_is_degraded_but_still_serving(make_app):
    """Ingestion works without Redis (the outbox), so the node must stay in the load balancer."""
    response = make_app(REDIS_URL=DEAD_REDIS_URL).test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded" and body["checks"]["queue"]["status"] == "unreachable"


def test_unreachable_database_is_503_without_leaking_the_url(make_app):
    app = make_app(DATABASE_URL="postgresql://plaudit:s3cret@127.0.0.1:1/nowhere")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert response.get_json()["checks"]["database"]["status"] == "unreachable"
    assert "s3cret" not in response.get_data(as_text=True)


def test_pages_answer_while_another_process_holds_the_write_lock(make_app):
    """On SQLite a writer locks the file; a GET reads the last committed state instead of waiting."""
    from core.db import transaction
    from core.models import Team, User
    from tests.fixtures.org import PASSWORD, sign_in

    app = make_app()
    with app.app_context(), transaction() as session:  # popped before any request, as in production
        user = User(email="hr@example.com", name="Hr")
        user.roles, user.password_hash = ["hr"], ""
        user.set_password(PASSWORD)
        session.add(user)
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    writer = app.extensions["plaudit.db"].sessionmaker()
    try:
        writer.add(Team(name="Half-made", slug="half-made"))
        writer.flush()  # a write transaction is open and holds the lock
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200
    finally:
        writer.rollback()
        writer.close()
