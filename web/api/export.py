"""CSV export of API lists: the rows a list answers as JSON, flattened to columns and streamed.

Nested objects become dotted columns (``metrics.csat_percent.value``); lists and free-form objects
become JSON text in one cell. Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) gets a leading
apostrophe: comments are written by customers, and an export is opened in Excel.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence

from flask import Response, request, stream_with_context
from marshmallow import Schema, fields

from core.spreadsheet import inert

CSV_TYPE = "text/csv"
#: Flush the stream every this many bytes, so a large export starts at once and never sits in memory.
CHUNK = 64 * 1024


def wants_csv() -> bool:
    """True when the request asks for CSV: ``?format=csv``, or ``Accept: text/csv`` without ``format``."""
    if "format" in request.args:
        return request.args["format"] == "csv"
    return request.accept_mimetypes.best_match(["application/json", CSV_TYPE]) == CSV_TYPE


def columns_of(schema: Schema, prefix: str = "") -> list[str]:
    """The CSV columns of ``schema``'s dump: its fields, nested schemas as dotted columns."""
    columns = []
    for name, field in schema.fields.items():
        key = prefix + (field.data_key or name)
        if isinstance(field, fields.Nested) and not field.many:
            columns += columns_of(field.schema, key + ".")
        else:
            columns.append(key)
    return columns


def lookup(row: Mapping, column: str):
    """The value of a dotted ``column`` in ``row``; None where the path runs out."""
    value = row
    for part in column.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def cell(value) -> str:
    """One value as CSV text: empty for null, JSON for lists and booleans, safe from formula injection."""
    if value is None:
        return ""
    if isinstance(value, (bool, list, Mapping)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        return inert(value)
    return str(value)


def csv_response(rows: Iterable[Mapping], columns: Sequence[str], name: str) -> Response:
    """Stream ``rows`` (dumped JSON items) as a CSV attachment ``<name>.csv`` with a header row."""
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(lookup(row, column)) for column in columns])
            if buffer.tell() >= CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype=CSV_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
