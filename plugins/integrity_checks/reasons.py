"""How a finding reads to an HR reviewer: moments, spans of time and shares in plain words."""
from __future__ import annotations

from datetime import UTC, datetime


def moment(when: datetime) -> str:
    """``2026-11-02 10:15 UTC``: minutes are enough for a reviewer, and one zone for every reason."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: float) -> str:
    """A length of time in the unit a person would use: ``4 seconds``, ``25 minutes``, ``3.5 hours``."""
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return _plural(round(seconds), "second")
    if seconds < 2 * 3600:
        return _plural(round(seconds / 60), "minute")
    hours = round(seconds / 3600, 1)
    return f"{hours:g} hours"


def share(part: int, whole: int) -> str:
    """``4 of 30 (13%)``: the counts first, so a small sample shows as one."""
    percent = 100 * part / whole if whole else 0.0
    return f"{part} of {whole} ({percent:.0f}%)"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
