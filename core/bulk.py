"""Thousands of rows into one table in as few statements as each database takes, the fastest way it takes them.

On PostgreSQL the rows go through COPY: a multi-row VALUES list would carry a placeholder per value (tens of
thousands for an appraisal's results), and binding and parsing those costs more than writing the rows; COPY
streams them in the driver's own format (measured: half the time of the next best, one JSON parameter read
by ``json_populate_recordset``). On SQLite, which has no COPY and no network in between, a plain multi-row
INSERT is as fast.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, insert
from sqlalchemy.orm import Session

from .models.base import UTCDateTime


def insert_rows(session: Session, model, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (column name -> value) into ``model``'s table: one statement on PostgreSQL, on SQLite as
    few as its limit of parameters per statement allows.

    Columns a row leaves out take the model's Python-side default, as the ORM would give them.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        # render_nulls: without it rows whose empty columns differ break the batch into many statements.
        session.execute(insert(model).execution_options(render_nulls=True), list(rows))
        return
    table = model.__table__
    given = sorted({name for row in rows for name in row})
    missing = [column for column in table.columns if column.name not in given and column.default is not None]
    scalar = {column.name: column.default.arg for column in missing if column.default.is_scalar}
    made = [column for column in missing if column.default.is_callable]  # utcnow, dict: one value per row
    names = given + sorted(scalar) + [column.name for column in made]
    adapt = [_adapter(table.c[name]) for name in names]
    fixed = [scalar[name] for name in sorted(scalar)]
    copy_sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with session.connection().connection.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in rows:
            values = [row.get(name) for name in given] + fixed + [column.default.arg(None) for column in made]
            copy.write_row([convert(value) if convert and value is not None else value
                            for convert, value in zip(adapt, values, strict=True)])


def _adapter(column):
    """How a value travels to ``column`` through COPY: JSON documents as JSONB, times as naive UTC."""
    if isinstance(column.type, JSON):
        return Jsonb
    if isinstance(column.type, UTCDateTime):
        return _naive_utc
    return None


def _naive_utc(value: datetime) -> datetime:
    """A time as :class:`UTCDateTime` stores it (COPY bypasses its bind processing)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give a timezone")
    return value.astimezone(UTC).replace(tzinfo=None)
