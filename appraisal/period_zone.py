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
from datetime import UTC, datetime

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


def misaligned(session: Session) -> dict[str, int]:
    """How many stored periods, by what stores them, are not bounded by the organisation's midnights."""
    found = {}
    for name, model in STORING.items():
        bounds = session.execute(select(model.period_start, model.period_end, func.count())
                                 .where(model.period_start.is_not(None))
                                 .group_by(model.period_start, model.period_end)).all()
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


@dataclass
class PeriodsMoved:
    moved: dict[str, int] = field(default_factory=dict)


def move_periods(session: Session, old_zone: str, *, actor=None) -> PeriodsMoved:
    """Move every stored period made under ``old_zone`` onto the same days' midnights in the organisation's zone.

    :raises ValueError: when a stored bound is a midnight of neither zone (``old_zone`` is not the one they were
        made in), naming it; nothing is moved then.
    """
    old = local_time.check_zone(old_zone)
    result = PeriodsMoved()
    for name, model in STORING.items():
        rows = session.execute(select(model.id, model.period_start, model.period_end)
                               .where(model.period_start.is_not(None))).all()
        changes = []
        for row_id, start, end in rows:
            if _is_midnight(start) and _is_midnight(end):
                continue  # made under this zone already
            moved = []
            for bound in (start, end):
                local = bound.astimezone(old)
                if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
                    raise ValueError(f"{name} {row_id}: {bound.isoformat()} is no midnight in {old_zone}: "
                                     f"give the zone its periods were made in")
                moved.append(local_time.midnight(local.date()))
            changes.append({"id": row_id, "period_start": moved[0], "period_end": moved[1]})
        if changes:
            session.execute(update(model), changes)
            result.moved[name] = len(changes)
    if result.moved:
        session.add(AuditEntry(action="periods.moved_to_time_zone", entity_type="periods",
                               actor_id=getattr(actor, "id", actor), before={"time_zone": old_zone},
                               after={"time_zone": local_time.zone_name(), **result.moved}))
    return result
