"""What pages accept in URLs and query strings: ids the database can hold, whole numbers, no NUL characters.

A wrong value is a 400 that names the parameter (or a 404 for an id in the path that cannot exist), never a
500 from the database refusing it.
"""
from __future__ import annotations

import math
import re
from typing import Any

from flask import abort, request
from werkzeug.routing import IntegerConverter

#: The largest id any table holds (a 32-bit INTEGER key on PostgreSQL).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number past MAX_ID matches no route (404) rather than reaching SQL."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def whole_number(name: str, raw: str | None = None, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """The query parameter ``name`` (or ``raw``) as an int, None when absent; 400 naming it when wrong."""
    raw = request.args.get(name) if raw is None else raw
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        abort(400, description=f"{name}: give a whole number from {minimum} to {maximum:,}, not {raw[:40]!r}")
    return int(raw)


def choice_arg(name: str, choices, default: str) -> str:
    """The query parameter ``name``, one of ``choices`` (``default`` when absent); 400 naming it otherwise."""
    raw = request.args.get(name, "").strip() or default
    if raw not in choices:
        abort(400, description=f"{name}: choose from {', '.join(choices)}, not {raw[:40]!r}")
    return raw


def page_of(total: int, size: int) -> tuple[int, int]:
    """The ``?page=`` asked for and how many pages of ``size`` hold ``total`` rows; 400 past the last one."""
    page, pages = whole_number("page") or 1, max(1, math.ceil(total / size))
    if page > pages:
        abort(400, description=f"page: there {'is' if pages == 1 else 'are'} {pages} page{'s' * (pages != 1)}")
    return page, pages


def refuse_nul_characters() -> None:
    """Before every request: a NUL in a query or form value is refused naming its field.

    PostgreSQL cannot store NUL in text, so it would otherwise surface as a database error mid-transaction.
    The API validates its own arguments with its schemas (422 naming the field).
    """
    if request.path.startswith("/api/"):
        return
    for source in (request.args, request.form):
        for name, values in source.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                abort(400, description=f"{name.replace(chr(0), '')}: must not contain NUL characters")


def is_id(raw: str) -> bool:
    """Whether a form value is a row id the database could hold (a bare number from 1 to MAX_ID)."""
    return raw.isdigit() and 1 <= int(raw) <= MAX_ID


#: A number written with a decimal comma, as most of Europe does and its phones' number pads offer: "80,5".
DECIMAL_COMMA = re.compile(r"\s*[-+]?\d+,\d+\s*")
#: ... but not three digits after a comma that could be a thousands mark: "5,000" is five thousand in English
#: and five in German, so it is left as typed, to be refused as no number, rather than guessed.
THOUSANDS = re.compile(r"\s*[-+]?\d{1,3},\d{3}\s*")


def decimal_mark(raw: str) -> str:
    """``raw`` with a decimal comma made a point ("80,5" is 80.5, "1500,50" is 1500.5); anything else as it was."""
    return raw.replace(",", ".") if DECIMAL_COMMA.fullmatch(raw) and not THOUSANDS.fullmatch(raw) else raw


def finite_number(raw: str) -> float | None:
    """A form value as a finite number, or None when it is not one (text, NaN, infinity); "80,5" is 80.5."""
    try:
        number = float(decimal_mark(raw))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def plain(value: Any) -> Any:
    """``value`` with whole floats as integers, as people write them in a form (60, not 60.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
