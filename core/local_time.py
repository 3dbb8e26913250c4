"""The organisation's calendar: the time zone its days begin in (``PLAUDIT_TIME_ZONE``, UTC by default).

Times are kept in UTC everywhere. Days are the organisation's: a week is Monday to Sunday where its people
work, so an answer given at 23:30 on a Sunday in Los Angeles counts in that week, not in the next. Each day
boundary is the organisation's midnight, held as an aware UTC time, so that a week across a change of
daylight-saving time is 167 or 169 hours long and the next week still begins at midnight.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, has_app_context

from .models.base import utcnow

DEFAULT_ZONE = "UTC"


def check_zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name`` (``Europe/Berlin``).

    :raises ValueError: naming what is wrong, when there is no such zone.
    """
    if _a_zone(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, "America"
            pass
    # Listing every zone takes milliseconds: only for the message, not for every app that starts.
    known = {zone for zone in available_timezones() if _a_zone(zone)}
    plain = name.strip().removeprefix("posix/").removeprefix("right/").lower()
    meant = [zone for zone in known if zone.lower() == plain]
    hint = f"did you mean {meant[0]}? " if meant else ""
    raise ValueError(f"{name!r} is not a time zone: {hint}give an IANA name such as Europe/London or "
                     f"America/New_York (the list: https://en.wikipedia.org/wiki/List_of_tz_database_time_zones)")


def _a_zone(name: str) -> bool:
    # Not the database's own files: localtime (the server's zone, whatever it is), Factory (no zone), and the
    # posix/ and right/ copies (right/ counts leap seconds, which put every midnight off by them).
    return name not in ("localtime", "Factory") and not name.startswith(("posix/", "right/"))


def zone_name() -> str:
    """The organisation's time zone as named in its settings: ``UTC``, ``Europe/Berlin``."""
    return (current_app.config.get("TIME_ZONE") if has_app_context() else None) or DEFAULT_ZONE


def zone() -> tzinfo:
    """The organisation's time zone: the app's ``TIME_ZONE``, or UTC outside an app."""
    name = zone_name()
    return UTC if name == DEFAULT_ZONE else ZoneInfo(name)  # ZoneInfo keeps one object per name


def today() -> date:
    """The organisation's date now: in Auckland it is Monday while London's clocks still show Sunday."""
    return utcnow().astimezone(zone()).date()


def midnight(day: date) -> datetime:
    """The moment ``day`` begins for the organisation, as an aware UTC time."""
    # In a zone whose clocks skip midnight (a DST change at 00:00), the day begins at the first time that exists:
    # zoneinfo reads the skipped 00:00 with the offset before the change, which is that moment.
    return datetime.combine(day, time(), tzinfo=zone()).astimezone(UTC)


def in_zone(moment: datetime) -> datetime:
    """``moment`` on the organisation's clock (a naive value is taken as UTC, as the database keeps times)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone())


def on_clock(value: datetime) -> datetime:
    """A date and time as typed without an offset, read on the organisation's clock, as an aware UTC time.

    Converted to UTC at once: two times of one zone compare by their wall clocks, so a window typed across the
    hour the clocks go forward passed as ordered and failed at the database.

    :raises ValueError: for a time the clocks skip (they go forward over it); a time they show twice, when they
        go back, is the first.
    """
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    moment = value.replace(tzinfo=zone()).astimezone(UTC)
    if moment.astimezone(zone()).replace(tzinfo=None) != value:
        raise ValueError(f"{value:%Y-%m-%d %H:%M} does not exist in {zone_name()}: the clocks go forward over it")
    return moment


def shown(moment: datetime) -> str:
    """``2026-11-02 10:15 Europe/London``: a moment as a sentence gives it to people, naming the clock."""
    return f"{in_zone(moment):%Y-%m-%d %H:%M} {zone_name()}"


def day_of(moment: datetime) -> date:
    """The organisation's date at ``moment``."""
    return in_zone(moment).date()
