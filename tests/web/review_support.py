"""What the review-queue tests share: a unit of work of the test's own, deciding through a page, the audit."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from core.db import get_session, transaction
from core.models import AuditEntry
from tests.fixtures.org import csrf_token


@contextmanager
def own_session():
    """A unit of work of the test's own, once the requests' shared session has let go of SQLite's lock.

    The worked example holds an app context open, so every request shares one session in ``g`` (as a real
    request's would be closed at its end, the test ends its transaction here).
    """
    get_session().rollback()
    with transaction() as session:
        yield session


def decide(client, path, **form):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **form})


def audits(entity_type):
    with own_session() as session:
        return session.execute(select(AuditEntry.action, AuditEntry.note, AuditEntry.actor_id)
                               .where(AuditEntry.entity_type == entity_type).order_by(AuditEntry.id)).all()
