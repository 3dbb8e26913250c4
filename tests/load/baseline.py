"""The floor the API is held to: the same feedback rows written straight into the table, in one transaction.

The rows the load stored are read back and inserted again (``external_id`` suffixed, to pass the unique
constraint) with psycopg's ``executemany`` and with ``COPY``, each inside a transaction that is rolled back,
so the table, its indexes and constraints are the ones the API wrote through.
"""
from __future__ import annotations

import time

import psycopg
from psycopg import sql


def _columns(conn: psycopg.Connection) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'feedback' AND column_name <> 'id'"
        " ORDER BY ordinal_position")]


def measure(conn: psycopg.Connection, external_ids: str = "%") -> dict:
    """Insert again the rows whose ``external_id`` is LIKE ``external_ids``; return how many and the seconds
    each raw way took."""
    columns = _columns(conn)
    external = columns.index("external_id")
    rows = []
    for row in conn.execute(sql.SQL("SELECT {} FROM feedback WHERE external_id LIKE %s ORDER BY id").format(
            sql.SQL(", ").join(map(sql.Identifier, columns))), [external_ids]):
        row = list(row)
        row[external] = f"{row[external]}:raw"
        rows.append(row)
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    insert = sql.SQL("INSERT INTO feedback ({}) VALUES ({})").format(
        names, sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    rows = _jsonable(rows, conn, columns)
    timings = {}
    with conn.cursor() as cursor:
        started = time.perf_counter()
        with conn.transaction(force_rollback=True):
            cursor.executemany(insert, rows)
            timings["executemany_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        with conn.transaction(force_rollback=True):
            with cursor.copy(sql.SQL("COPY feedback ({}) FROM STDIN").format(names)) as copy:
                for row in rows:
                    copy.write_row(row)
            timings["copy_seconds"] = time.perf_counter() - started
    return {"rows": len(rows), **timings}


def _jsonable(rows: list[list], conn: psycopg.Connection, columns: list[str]) -> list[list]:
    """JSON columns come back as Python values; send them back as JSON."""
    from psycopg.types.json import Json, Jsonb

    kinds = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_name = 'feedback'").fetchall())
    wrap = {i: Jsonb if kinds[name] == "jsonb" else Json for i, name in enumerate(columns)
            if kinds[name] in ("json", "jsonb")}
    return [[wrap[i](value) if i in wrap and value is not None else value for i, value in enumerate(row)]
            for row in rows]
