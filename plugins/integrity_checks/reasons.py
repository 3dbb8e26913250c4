"""How a finding reads to an HR reviewer: moments, spans of time and shares in plain words."""
from __future__ import annotations

from datetime import datetime

from core import local_time


def moment(when: datetime) -> str:
    """``2026-11-02 10:15 UTC``: minutes are enough for a reviewer, on the organisation's clock, named."""
    return local_time.shown(when)


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
