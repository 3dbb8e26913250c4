"""Who worked in a period: the days an employee joined and left (``Employee.started_on`` / ``left_on``).

A run appraises the people who worked in its period, not only those active when it runs: a leaver deactivated
in December is still appraised for the quarter they worked most of, and a new hire is not appraised for a week
before they joined. Someone who worked part of a period is appraised on what they did, and their report says
how much of the period was theirs, since they stand among peers who had all of it.
"""
from __future__ import annotations

from datetime import date, datetime

from core import local_time
from core.models import Employee

from .periods import Period


def employed_in(period: Period):
    """SQL: the employees a run of ``period`` appraises. The active ones who had joined by its last day, and
    those who left on or after its first (one deactivated without a day is not appraised, as before days were
    kept)."""
    joined = Employee.started_on.is_(None) | (Employee.started_on <= period.last)
    working = Employee.active | (Employee.left_on >= period.first)
    return joined & working


def days_worked(period: Period, started_on: date | None, left_on: date | None) -> int:
    """How many of ``period``'s days the employee worked (the day they left counts as worked)."""
    first, last = _worked(period, started_on, left_on)
    return max((last - first).days + 1, 0)


def worked(period: Period, started_on: date | None, left_on: date | None) -> tuple[int, int] | None:
    """(days worked, days in ``period``) for someone who worked only part of it; None for all of it."""
    days = days_worked(period, started_on, left_on)
    return None if days >= period.days else (days, period.days)


def part_worked(period: Period, started_on: date | None, left_on: date | None, unranked_below: float | None = None
                ) -> str | None:
    """What a report says of someone who worked only part of ``period``; None for all of it (or none).

    "joined on 2026-11-04 and worked 5 of the period's 7 days, ..."; the left day counts as worked.

    :param unranked_below: for someone the run did not rank for working too little of the period, the share the
        guideline asked (its ``part_period.min_share_worked``), which the note then gives as the reason.
    """
    first, last = _worked(period, started_on, left_on)
    if (first, last) == (period.first, period.last) or last < first:
        return None
    joined = f"joined on {first.isoformat()}" if first > period.first else None
    left = f"left on {last.isoformat()}" if last < period.last else None
    said = (f"{', '.join(filter(None, (joined, left)))} and worked {(last - first).days + 1} of the period's "
            f"{period.days} days")
    if unranked_below is not None:
        return (f"{said}: too few to rank, as the guideline ranks those who worked at least {unranked_below:g}% of "
                f"a period")
    return f"{said}, against peers who may have worked all of it"


def counted_from(start: datetime, started_on: date | None) -> datetime:
    """When a period's items begin to count for someone: its ``start``, or the moment they joined if later
    (what was credited to them from before counts for nobody: :func:`appraisal.aggregates.joined_after`)."""
    return max(start, local_time.midnight(started_on)) if started_on is not None else start


def worked_enough(worked: tuple[int, int] | None, min_share: float) -> bool:
    """Whether someone who worked ``worked`` (days, of the period's) worked ``min_share`` % of it, to rank."""
    if worked is None:
        return True
    days, of = worked
    return 100 * days >= min_share * of - 1e-9  # in days: 50% of 7 is 3.5, met by 4 and not by 3


def _worked(period: Period, started_on: date | None, left_on: date | None) -> tuple[date, date]:
    """The first and last day of ``period`` the employee worked (the first after the last for none)."""
    return (max(period.first, started_on) if started_on else period.first,
            min(period.last, left_on) if left_on else period.last)
