"""Text no database column can hold, found or mended before it reaches one.

Two kinds of character get through JSON and fail at the database with a 500 for the whole request: NUL
(PostgreSQL's text cannot hold it) and a lone UTF-16 surrogate, the ``\\ud83d`` escape of half an emoji, which
no UTF-8 database can encode. A payload an integrator sends is refused naming the field, so they can fix it;
a helpdesk's or a feed's delivery is mended instead (the character becomes U+FFFD), since refusing it would
lose a customer's rating to an emoji the helpdesk cut in half.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def unstorable_text(value: Any) -> Iterator[tuple[str, str]]:
    """(field path, problem) for each string in ``value`` (keys too) that a database cannot store."""
    # A quick look first, since nearly every payload is clean; the walk below says where only when needed.
    return iter(_walk(value)) if _holds_unstorable(value) else iter(())


def _holds_unstorable(value: Any) -> bool:
    # A stack, not recursion: JSON nested a few hundred deep parses, and recursing through it was a 500.
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            if UNSTORABLE.search(item):
                return True
        elif kind is dict:
            pending.extend(item)
            pending.extend(item.values())
        elif kind is list or kind is tuple:
            pending.extend(item)
    return False


def _walk(value: Any) -> list[tuple[str, str]]:
    """Every unstorable string with its path, in document order."""
    found, pending = [], [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            match = UNSTORABLE.search(item)
            if match:
                found.append((path or "_schema", _problem(match.group())))
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if isinstance(key, str) and (bad := UNSTORABLE.search(key)):
                    found.append((path or "_schema", f"a field's name: {_problem(bad.group())}"))
                else:
                    pending.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list | tuple):
            pending.extend((f"{path}.{index}" if path else str(index), child)
                           for index, child in reversed(list(enumerate(item))))
    return found


def _problem(character: str) -> str:
    if character == "\x00":
        return "must not contain NUL characters"
    return (f"holds half of a character (a lone \\u{ord(character):04x} escape): send the whole character, "
            f"or none")


def mended(value: Any) -> Any:
    """``value`` with every unstorable character replaced by U+FFFD; the same object when there was none."""
    if isinstance(value, str):
        return UNSTORABLE.sub(REPLACEMENT, value) if UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {mended(key): mended(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mended(item) for item in value]
    return value
