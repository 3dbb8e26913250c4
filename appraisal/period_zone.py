"""Stored periods and the organisation's time zone: every period stored is bounded by the zone's midnights.

A run, a target or a period flag keeps its period as two UTC times, and "the same period" is the same two
times: that is how a re-run finds what the period paid already, a run finds its targets, and the weekly run
finds last week's. Once ``PLAUDIT_TIME_ZONE`` changes, the same days have other bounds, and none of those would
match: a re-run would pay the period's bonuses again, and targets would stop applying without a word. So
nothing new is stored while periods of another zone are (:func:`refuse_misaligned`), until
``plaudit appraisal move-periods --from OLD`` moves them onto the new zone's midnights (:func:`move_periods`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import local_time
from core.models import AuditEntry, Flag

from .models import AppraisalRun, Target

#: The tables that store periods, by what one of their rows is called in messages.
STORING = {"run": AppraisalRun, "target": Target, "period flag": Flag}


def counted_rows(found: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}{'' if count == 1 else 's'}" for name, count in found.items())


class MisalignedPeriods(ValueError):
    """Periods of another time zone are stored: the message says how many and what to do."""


def _is_midnight(moment: datetime) -> bool:
    return local_time.midnight(local_time.day_of(moment)) == moment.astimezone(UTC)


def stored_bounds(model):
    """SQL: each pair of period bounds ``model`` stores, with how many rows hold it (for flags, through the
    index of the period flags: item flags, nearly the whole table, have no period)."""
    return (select(model.period_start, model.period_end, func.count()).where(model.period_start.is_not(None))
            .group_by(model.period_start, model.period_end))


def misaligned(session: Session) -> dict[str, int]:
    """How many stored periods, by what stores them, are not bounded by the organisation's midnights."""
    found = {}
    for name, model in STORING.items():
        bounds = session.execute(stored_bounds(model)).all()
        off = sum(count for start, end, count in bounds if not (_is_midnight(start) and _is_midnight(end)))
        if off:
            found[name] = off
    return found


def refuse_misaligned(session: Session) -> None:
    """Refuse to store a period while periods of another time zone are stored.

    :raises MisalignedPeriods: naming how many, and the command that moves them.
    """
    found = misaligned(session)
    if found:
        counts = counted_rows(found)
        zone = local_time.zone_name()
        raise MisalignedPeriods(
            f"periods made under another time zone are stored ({counts}), not bounded by midnight in {zone} "
            f"(PLAUDIT_TIME_ZONE): a period appraised again would not find what it paid already. Move them to "
            f"{zone}'s days with `plaudit appraisal move-periods --from ZONE` (the zone they were made in, UTC "
            f"unless set before), or set PLAUDIT_TIME_ZONE back to it")


#: How far from a midnight of the zone named a stored bound may lie and still be that midnight: its rules may have
#: changed since (a new offset, an hour), or its clocks skip midnight (the day then begins at 01:00).
SNAP = timedelta(hours=3)


@dataclass
class PeriodsMoved:
    moved: dict[str, int] = field(default_factory=dict)
    #: rows left where they were: (what, id, why), for a bound far from every midnight of the zone named, or a
    #: flag whose new bounds another flag of the same check and employee holds
    left: list[tuple[str, int, str]] = field(default_factory=list)
    #: period flags dropped: the same finding as another of the same check, employee and days (the decided kept)
    dropped: list[int] = field(default_factory=list)


def move_periods(session: Session, old_zone: str, *, actor=None) -> PeriodsMoved:
    """Move the stored periods made under ``old_zone`` onto the same days' midnights in the organisation's zone.

    Each bound is read as the midnight of ``old_zone`` nearest it, within SNAP. Rows that fit nowhere (made under a
    third zone) are left and listed, to be moved with their own zone. Two period flags of the same check and
    employee on the same days are the same finding twice: one is dropped, a decided one kept. When they were last
    changed stays as it was: targets are chosen by it.

    :raises ValueError: when ``old_zone`` is not a time zone.
    """
    old = local_time.check_zone(old_zone)
    result = PeriodsMoved()
    for name, model in STORING.items():
        rows = session.execute(select(model).where(model.period_start.is_not(None))).scalars().all()
        # A period flag's (check, employee, bounds) is unique: who holds each, moved here or aligned already.
        holders = {_flag_key(row, row.period_start, row.period_end): row for row in rows
                   if _is_midnight(row.period_start) and _is_midnight(row.period_end)} if model is Flag else {}
        changes = {}
        for row in rows:
            if _is_midnight(row.period_start) and _is_midnight(row.period_end):
                continue  # made under this zone already
            days = [_nearest_day(bound, old) for bound in (row.period_start, row.period_end)]
            if None in days:
                bounds = f"{row.period_start.isoformat()} to {row.period_end.isoformat()}"
                result.left.append((name, row.id, f"{bounds} is no midnight in {old_zone}"))
                continue
            start, end = (local_time.midnight(day) for day in days)
            if model is Flag:
                key = _flag_key(row, start, end)
                holder = holders.get(key)
                if holder is not None:
                    # The same finding for the same days, twice: the decided one stays (else the one there).
                    decided_here = row.decision is not None and holder.decision is None
                    kept, gone = (row, holder) if decided_here else (holder, row)
                    changes.pop(gone.id, None)
                    session.delete(gone)
                    result.dropped.append(gone.id)
                    if kept is holder:
                        continue
                holders[key] = row
            changes[row.id] = {"id": row.id, "period_start": start, "period_end": end,
                               **({"updated_at": row.updated_at} if hasattr(model, "updated_at") else {})}
        changes = list(changes.values())
        if changes:
            session.execute(update(model), changes)
            result.moved[name] = len(changes)
    if result.moved or result.dropped:
        session.add(AuditEntry(action="periods.moved_to_time_zone", entity_type="periods",
                               actor_id=getattr(actor, "id", actor), before={"time_zone": old_zone},
                               after={"time_zone": local_time.zone_name(), **result.moved,
                                      "dropped_duplicate_flags": result.dropped}))
    return result


def _nearest_day(bound: datetime, zone) -> date | None:
    """The day whose midnight in ``zone`` is nearest ``bound``, if within SNAP of it."""
    local = bound.astimezone(zone)
    day = (local + timedelta(hours=12)).date()
    midnight = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    return day if abs(bound.astimezone(UTC) - midnight) <= SNAP else None


def _flag_key(flag, start, end) -> tuple:
    return flag.check, flag.employee_id, start.astimezone(UTC), end.astimezone(UTC)
