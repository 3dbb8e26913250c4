"""Text bound for a spreadsheet: a cell a person opens must not run as a formula (CSV injection)."""
from __future__ import annotations

#: What makes a spreadsheet read a cell as a formula (or strip what would show it is one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: str) -> str:
    """``value``, with a leading quote when a spreadsheet would otherwise run it: ``'=HYPERLINK(...)``."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
