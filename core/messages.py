"""marshmallow's nested error messages as (field path, message) pairs, for forms that show each at its field."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def field_messages(messages: Any, path: str = "", root: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``("questions.5.show_if.question", "...")`` for each message; ``root`` names schema-wide ones.

    Lists of nested errors are indexed (``metrics.2.weight``), as a form numbers its rows.
    """
    if isinstance(messages, dict):
        for key, inner in messages.items():
            key = "" if key == "_schema" else str(key)
            yield from field_messages(inner, f"{path}.{key}" if path and key else path or key, root)
    elif isinstance(messages, list) and not all(isinstance(m, str) for m in messages):
        for index, inner in enumerate(messages):
            yield from field_messages(inner, f"{path}.{index}", root)
    else:
        for message in messages if isinstance(messages, list) else [messages]:
            yield path or root, message
