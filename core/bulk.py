"""Thousands of rows into one table in as few statements as each database takes, the fastest way it takes them.

On PostgreSQL the rows go through COPY: a multi-row VALUES list would carry a placeholder per value (tens of
thousands for an appraisal's results), and binding and parsing those costs more than writing the rows; COPY
streams them in the driver's own format (measured: half the time of the next best, one JSON parameter read
by ``json_populate_recordset``). On SQLite, which has no COPY and no network in between, a plain multi-row
INSERT is as fast.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .models.base import UTCDateTime, naive_utc


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
    session.flush()  # as the ORM would before a statement: pending objects first
    table = model.__table__
    names = [column.name for column in table.columns
             if any(column.name in row for row in rows) or column.default is not None]
    defaults = [_default(table.c[name]) for name in names]
    adapt = [_adapter(table.c[name]) for name in names]
    quote = session.get_bind().dialect.identifier_preparer.quote
    copy_sql = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    connection = session.connection()
    fill = list(zip(names, defaults))
    converted = [(index, convert) for index, convert in enumerate(adapt) if convert is not None]
    try:
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                values = [row[name] if name in row else default() for name, default in fill]
                for index, convert in converted:  # a few columns: not a pass over every value of the row
                    if values[index] is not None:
                        values[index] = convert(values[index])
                copy.write_row(values)
    except psycopg.Error as error:  # raised as SQLAlchemy raises it elsewhere (IntegrityError, ...)
        raise DBAPIError.instance(copy_sql, None, error, psycopg.Error) from error


def _default(column):
    """What a row that leaves ``column`` out gets: its Python-side default, as the ORM gives it, else NULL."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return lambda: None
    if default.is_scalar:
        return lambda: default.arg
    return lambda: default.arg(None)  # utcnow, dict: a value of its own for each row


def _adapter(column):
    """How a value travels to ``column`` through COPY: JSON documents as JSONB, times as naive UTC."""
    if isinstance(column.type, JSON):
        return _compact_jsonb
    if isinstance(column.type, UTCDateTime):
        return naive_utc  # COPY bypasses UTCDateTime's bind processing
    return None


def _compact(value) -> str:
    """JSON without spaces, written by orjson: an appraisal's case mixes are a few megabytes of JSON, which the
    standard library took a fifth of the run's storing to write (orjson: a tenth of that). A value orjson will
    not write (an integer beyond 64 bits) goes through the standard library instead. A NaN or infinity is
    written as null, where the standard library wrote NaN, which PostgreSQL refused: the stored document
    stays valid JSON (the engine's figures are finite, so this is no path they take)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"))


def _compact_jsonb(value) -> Jsonb:
    # PostgreSQL stores JSONB in its own form, whatever the spacing: there is no point sending spaces.
    return Jsonb(value, dumps=_compact)
