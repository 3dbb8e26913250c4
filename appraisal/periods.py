"""Appraisal periods: a week, a calendar month or quarter, or custom dates; each knows the one before it.

Their days are the organisation's (:mod:`core.local_time`): a period begins and ends at its midnight.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core import local_time

PERIOD_KINDS = ("week", "month", "quarter", "custom")
#: The days a period may hold. A period's end (the day after its last) and the period before it must be dates
#: Python can hold, so years near 1 and 9999 are refused here, as a wrong value, instead of overflowing later.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
#: The longest custom period: ten years, so that the period before it still begins after FIRST_DAY's century.
LONGEST_CUSTOM = timedelta(days=3653)


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime  # inclusive: the organisation's midnight beginning the first day, as an aware UTC time
    end: datetime  # exclusive: its midnight after the last day

    @property
    def first(self) -> date:
        return bound_day(self.start)

    @property
    def last(self) -> date:
        return bound_day(self.end) - timedelta(days=1)

    @property
    def days(self) -> int:
        """How many days it holds (a week across a change of clocks is still seven)."""
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        return f"{self.kind} {dates_text(self.start, self.end)}"

    def previous(self) -> Period:
        """The period of the same kind just before this one (for custom periods: as many days)."""
        # Unchecked: the month before one that starts on FIRST_DAY is still a month to compare with.
        if self.kind == "month":
            return _month(self.first - timedelta(days=1))
        if self.kind == "quarter":
            return _quarter(self.first - timedelta(days=1))
        # Counted in days, not hours: across a change of daylight-saving time a week is not 168 hours.
        days = self.last - self.first + timedelta(days=1)
        return Period(self.kind, _midnight(self.first - days), self.start)


def short_label(kind: str, start: datetime) -> str:
    """A period as a chart's axis names it: "Sep 2026", "Q3 2026", else its first day ("5 Oct")."""
    first = bound_day(start)
    if kind == "month":
        return f"{first:%b %Y}"
    if kind == "quarter":
        return f"Q{(first.month - 1) // 3 + 1} {first:%Y}"
    return f"{first.day} {first:%b}"


def period_of(run) -> Period:
    """The period a stored run appraised."""
    return Period(run.period_kind, run.period_start, run.period_end)


def _midnight(day: date) -> datetime:
    return local_time.midnight(day)


def bound_day(moment: datetime) -> date:
    """The day a period bound begins: the organisation's date, or for a bound stored at midnight UTC before the
    organisation set its time zone (which is not its midnight), the UTC date that bound was made for, until
    ``plaudit appraisal move-periods`` moves it (:mod:`appraisal.period_zone`)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = local_time.day_of(moment)
    if _midnight(local) != moment and moment.astimezone(UTC).time() == datetime.min.time():
        return moment.astimezone(UTC).date()
    return local


def check_day(day: date) -> date:
    """``day`` if a period may hold it.

    :raises ValueError: naming the days allowed, when it is outside them.
    """
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day.isoformat()} is outside the days a period may hold "
                         f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})")
    return day


def check_started(period: Period, today: date) -> Period:
    """``period`` if it has begun by ``today``: a period still to come has no feedback to appraise, and its run
    would head every list of results as the latest.

    :raises ValueError: when it starts after ``today``.
    """
    if bound_day(period.start) > today:
        raise ValueError(f"the {period.label} starts after today ({today.isoformat()}): it has nothing to appraise yet")
    return period


def unfinished(period: Period, today: date) -> str | None:
    """A warning when ``period`` has not ended by ``today`` (its numbers will still change); None once it has."""
    last = period.last
    if last < today:
        return None
    return (f"the {period.label} has not ended yet (its last day is {last.isoformat()}): its numbers will change as "
            f"feedback arrives, and recommendations approved on this run stand when the period is run again")


def made_early(period: Period, made: date, today: date) -> str | None:
    """A warning for a run of ``period`` made on ``made``: its period has not ended (:func:`unfinished`), or
    had not when the run was made, so feedback that came later is not in it; None for a run made after."""
    warning = unfinished(period, today)
    last = period.last
    if warning is None and made <= last:
        warning = (f"this run was made on {made.isoformat()}, before the {period.label} ended: feedback that came "
                   f"later is not in it; run the period again for its final numbers")
    return warning


def run_made_early(run) -> str | None:
    """:func:`made_early` of a run (or a row with a run's ``period_*``, ``started_at`` and ``created_at``), today."""
    return made_early(period_of(run), local_time.day_of(run.started_at or run.created_at), local_time.today())


def counted(count: int, kind: str) -> str:
    """``3 weeks``, ``1 quarter``, ``2 custom periods``: a number of periods of ``kind`` in words."""
    noun = "custom period" if kind == "custom" else kind
    return f"{count} {noun}{'' if count == 1 else 's'}"


def week_of(day: date) -> Period:
    """The ISO week (Monday to Sunday) that holds ``day``."""
    return _week(check_day(day))


def month_of(day: date) -> Period:
    return _month(check_day(day))


def quarter_of(day: date) -> Period:
    return _quarter(check_day(day))


def stored_period(start: datetime, end: datetime) -> Period:
    """The period [start, end) as stored, its kind recognised, without the checks on what may be asked for:
    for showing what an earlier version stored (a target of twenty years, say)."""
    return _recognised(bound_day(start), bound_day(end) - timedelta(days=1), None)


def days_of(start: datetime, end: datetime) -> tuple[date, date]:
    """The first and last day of the stored period [start, end), both included."""
    return bound_day(start), bound_day(end) - timedelta(days=1)


def dates_text(start: datetime, end: datetime) -> str:
    """``2026-11-02 to 2026-11-08``: the days of the stored period [start, end), as pages show them."""
    first, last = days_of(start, end)
    return f"{first.isoformat()} to {last.isoformat()}"


def _week(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period("week", _midnight(monday), _midnight(monday + timedelta(days=7)))


def _month(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period("month", _midnight(first), _midnight(following))


def _quarter(day: date) -> Period:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return Period("quarter", _midnight(first), _midnight(following))


def period_between(first: date, last: date, kind: str | None = None) -> Period:
    """The period from ``first`` to ``last``, both days included.

    With ``kind`` None the kind is recognised (a whole ISO week, calendar month or quarter), else custom.

    :raises ValueError: when ``last`` precedes ``first``, a day is outside FIRST_DAY to LAST_DAY, a custom period
        is longer than LONGEST_CUSTOM, or the dates do not make the ``kind`` asked for.
    """
    check_day(first)
    check_day(last)
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    if last - first >= LONGEST_CUSTOM:
        raise ValueError(f"{first} to {last} is longer than a period may be ({LONGEST_CUSTOM.days:,} days)")
    return _recognised(first, last, kind)


def _recognised(first: date, last: date, kind: str | None) -> Period:
    custom = Period("custom", _midnight(first), _midnight(last + timedelta(days=1)))
    candidates = {}
    for name, of in (("week", _week), ("month", _month), ("quarter", _quarter)):
        try:
            candidates[name] = of(first)
        except (OverflowError, ValueError):  # one that would end past year 9999: it cannot be what is stored
            pass
    if kind in (None, "custom"):
        if kind is None:
            for candidate in candidates.values():
                if (candidate.start, candidate.end) == (custom.start, custom.end):
                    return candidate
        return custom
    if kind not in candidates:
        raise ValueError(f"unknown period {kind!r}; choose from {', '.join(PERIOD_KINDS)}")
    if (candidates[kind].start, candidates[kind].end) != (custom.start, custom.end):
        expected = candidates[kind]
        raise ValueError(f"{first} to {last} is not a {kind}; the {kind} holding {first} runs "
                         f"{expected.first} to {expected.last}")
    return candidates[kind]
