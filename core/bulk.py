"""Thousands of rows into one table in as few statements as each database takes, the fastest way it takes them.

On PostgreSQL the rows travel as ONE JSON parameter that ``json_populate_recordset`` turns into rows of the
table's own type: a multi-row VALUES list would carry a placeholder per value (tens of thousands for an
appraisal's results), and binding and parsing those costs more than writing the rows. On SQLite, which has
no such function and no network in between, a plain multi-row INSERT is as fast.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session


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
    columns = given + sorted(scalar) + [column.name for column in made]
    if scalar or made or any(len(row) != len(given) for row in rows):
        rows = [{**dict.fromkeys(given), **row, **scalar, **{c.name: c.default.arg(None) for c in made}}
                for row in rows]
    document = json.dumps(rows, default=_json_value, allow_nan=False)
    names = ", ".join(columns)
    picked = ", ".join(f"r.{name}" for name in columns)
    session.execute(text(f"INSERT INTO {table.name} ({names}) SELECT {picked} "
                         f"FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json)) AS r"),
                    {"rows": document})


def _json_value(value: Any) -> Any:
    """What JSON cannot carry by itself: times, as naive UTC, as :class:`UTCDateTime` stores them."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored by core.bulk")
