"""Files the importers read: refused whole, naming the line, when they are not UTF-8."""
from __future__ import annotations

from pathlib import Path

import click


def require_utf8(path: Path, param_hint: str = "FILE") -> None:
    """Refuse ``path`` unless it is UTF-8 text, naming the line of the first byte that is not.

    Named by line, as a person finds it in an editor: the decoder's offset counted from the chunk it was
    reading, not from the file, so "byte 2447" pointed nowhere near the bad line 14,874.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise click.BadParameter(f"not UTF-8 text (line {line:,}): save the file as UTF-8 CSV",
                                 param_hint=param_hint) from None
