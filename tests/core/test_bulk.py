"""core.bulk writes thousands of rows in as few statements as the database takes, and stores them as the ORM would, on both databases."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError, StatementError

from core.bulk import insert_rows
from core.models import Feedback

NOON_IN_BERLIN = datetime(2026, 11, 2, 12, tzinfo=timezone(timedelta(hours=1)))


def test_rows_are_stored_as_the_orm_stores_them(session):
    statements = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
    rows = [{"channel": "bulk", "kind": "csat", "external_id": str(n), "value": float(n % 5 + 1),
             "comment": "Quick, thanks" if n % 2 else None, "occurred_at": NOON_IN_BERLIN,
             "payload": {"answers": [n, "five"]}} for n in range(2000)]
    rows[7] = {key: value for key, value in rows[7].items() if key != "comment"}  # a row missing a column
    insert_rows(session, Feedback, rows)
    inserts = [statement for statement in statements if statement.startswith("INSERT")]
    # PostgreSQL: one COPY, outside SQLAlchemy's statements; SQLite: as few as its limit of parameters allows.
    assert len(inserts) == (0 if session.get_bind().dialect.name == "postgresql" else 3)

    stored = session.scalars(select(Feedback).where(Feedback.channel == "bulk").order_by(Feedback.id)).all()
    assert len(stored) == 2000
    first, seventh = stored[1], stored[7]
    assert (first.comment, first.value, first.payload) == ("Quick, thanks", 2.0, {"answers": [1, "five"]})
    assert first.occurred_at == datetime(2026, 11, 2, 11, tzinfo=UTC)  # the same instant, kept as UTC
    assert seventh.comment is None
    # Python-side defaults the rows left out: a status and the time received, as the ORM would set them.
    assert first.status == "accepted" and first.received_at > datetime.now(UTC) - timedelta(minutes=5)


def test_a_naive_time_is_refused_before_anything_is_written(session):
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        insert_rows(session, Feedback, [{"channel": "bulk", "kind": "csat", "external_id": "1", "value": 1.0,
                                         "occurred_at": datetime(2026, 11, 2, 12)}])
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Feedback)) == 0


def test_a_row_that_leaves_out_a_column_others_give_gets_its_default(session):
    rows = [{"channel": "bulk", "kind": "csat", "external_id": "1", "value": 1.0, "occurred_at": NOON_IN_BERLIN,
             "status": "quarantined"},
            {"channel": "bulk", "kind": "csat", "external_id": "2", "value": 5.0, "occurred_at": NOON_IN_BERLIN}]
    insert_rows(session, Feedback, rows)
    assert dict(session.execute(select(Feedback.external_id, Feedback.status)).all()) == {
        "1": "quarantined", "2": "accepted"}


def test_a_refused_row_raises_as_sqlalchemy_raises_it(session):
    row = {"channel": "bulk", "kind": "csat", "external_id": "1", "value": 1.0, "occurred_at": NOON_IN_BERLIN}
    with pytest.raises(IntegrityError):
        insert_rows(session, Feedback, [row, row])  # the same channel and external id twice
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Feedback)) == 0


def test_json_documents_are_stored_as_the_standard_library_writes_them(session):
    """orjson writes the documents; numbered keys and integers beyond 64 bits come out as json would give them."""
    documents = [{"sections": {1: "Greeting", 2: "Close"}, "score": 87.5, "nested": [{"n": 3}]},
                 {"count": 2 ** 70, "label": "café"}]
    insert_rows(session, Feedback, [{"channel": "bulk", "kind": "csat", "external_id": str(n), "value": 1.0,
                                     "occurred_at": NOON_IN_BERLIN, "payload": document}
                                    for n, document in enumerate(documents)])
    stored = session.scalars(select(Feedback.payload).where(Feedback.channel == "bulk")
                             .order_by(Feedback.external_id)).all()
    assert stored == [{"sections": {"1": "Greeting", "2": "Close"}, "score": 87.5, "nested": [{"n": 3}]},
                      {"count": 2 ** 70, "label": "café"}]
