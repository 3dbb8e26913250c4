"""Runs made before someone's days of employment changed, which still appraise them by the old days.

A run keeps its results (runs.py): recording a leaving day in the past, or a joining day, changes nothing in the
runs already made of the periods those days touch. They go on counting the leaver among the ranked, or the
hire's feedback from before they joined, until HR runs those periods again. :func:`runs_by_old_days` names them,
for the person's page to offer the new runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import AuditEntry, Employee

from .models import AppraisalRun
from .periods import days_of

#: The audit actions that change someone's days (core.tenure): the day they joined, left, or came back.
TENURE_ACTIONS = ("employee.updated", "employee.activated", "employee.deactivated")
#: The last day of someone inactive with no day of leaving: runs leave them out of every period.
_NEVER = date.min


@dataclass(frozen=True)
class DaysChanged:
    """One change of someone's days: when it was made, and the days whose appraisal it alters (None: no bound)."""

    at: datetime
    first: date | None
    last: date | None

    def touches(self, first: date, last: date) -> bool:
        return (self.first is None or last >= self.first) and (self.last is None or first <= self.last)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def days_changed(entry: AuditEntry, started_on: date | None = None) -> DaysChanged | None:
    """The days a tenure audit entry alters, or None for an entry that changed neither day (a new team, say).

    :param started_on: the day the person joined, for a change of the day they left: days before it were never
        theirs either way (a hire who never started, deactivated, changes no run).
    """
    before, after = entry.before or {}, entry.after or {}
    if "started_on" in after and before.get("started_on") != after["started_on"]:
        # The days from the earlier of the two (no day: from the beginning) up to the later one, which is
        # the first day on which both say they worked.
        days = [d for d in (_day(before.get("started_on")), _day(after["started_on"])) if d]
        return DaysChanged(entry.at, None if len(days) < 2 else min(days), max(days) - timedelta(days=1))
    if "left_on" not in after:
        return None
    old, new = _last_day(before), _last_day(after)
    if old == new:
        return None
    if _NEVER in (old, new):  # out of every period on one side: every day they were employed on the other
        first, last = started_on, max(old, new)
    else:  # the days after the earlier of the two last days up to the later one
        first, last = min(old, new) + timedelta(days=1), max(old, new)
    if started_on is not None and first is not None and first < started_on:
        first = started_on
    return DaysChanged(entry.at, first, None if last == date.max else last)


def _last_day(state: dict) -> date:
    """The last day a tenure state (an audit entry's before or after) counts someone employed: the day they left,
    :data:`_NEVER` for someone inactive with no such day, ``date.max`` for someone still employed."""
    if state.get("left_on"):
        return date.fromisoformat(state["left_on"])
    return date.max if state.get("active", True) else _NEVER


def runs_by_old_days(session: Session, employee: Employee) -> list[AppraisalRun]:
    """The latest completed run of each period that was made before a change of ``employee``'s days touching
    that period, oldest period first. Two queries, whatever the number of runs or changes."""
    entries = session.scalars(_tenure_entries().where(AuditEntry.entity_id == str(employee.id)))
    changes = [change for entry in entries if (change := days_changed(entry, employee.started_on))]
    return _made_before(changes, session.scalars(_runs_of_record(changes)).all()) if changes else []


def people_by_old_days(session: Session) -> list[tuple[int, str, int]]:
    """Everyone some runs still appraise by their old days, as (employee id, name, how many runs), by name: what
    HR has to run again. Three queries, whatever the number of people, changes or runs."""
    by_person: dict[str, list[AuditEntry]] = {}
    for entry in session.scalars(_tenure_entries()):
        by_person.setdefault(entry.entity_id, []).append(entry)
    if not by_person:
        return []
    people = session.execute(select(Employee.id, Employee.name, Employee.started_on)
                             .where(Employee.id.in_(sorted(int(i) for i in by_person)))).all()
    changes = {employee_id: [change for entry in by_person[str(employee_id)]
                             if (change := days_changed(entry, started_on))]
               for employee_id, _, started_on in people}
    everyone = [change for found in changes.values() for change in found]
    runs = session.scalars(_runs_of_record(everyone)).all() if everyone else []
    found = [(employee_id, name, len(_made_before(changes[employee_id], runs))) for employee_id, name, _ in people]
    return sorted(((i, name, n) for i, name, n in found if n), key=lambda person: (person[1].lower(), person[0]))


def _tenure_entries():
    return (select(AuditEntry).where(AuditEntry.entity_type == Employee.__tablename__,
                                     AuditEntry.action.in_(TENURE_ACTIONS))
            .order_by(AuditEntry.at, AuditEntry.id))


def _runs_of_record(changes: list[DaysChanged]):
    """The latest completed run of each period, made before the latest of ``changes``, oldest period first."""
    latest = (select(func.max(AppraisalRun.id)).where(AppraisalRun.status == "completed")
              .group_by(AppraisalRun.period_start, AppraisalRun.period_end))
    # A run read the employees when it started: one queued before a change and finished after it used the old days.
    made = func.coalesce(AppraisalRun.started_at, AppraisalRun.finished_at)
    return (select(AppraisalRun).where(AppraisalRun.id.in_(latest), made < max(change.at for change in changes))
            .order_by(AppraisalRun.period_start, AppraisalRun.period_end))


def _made_before(changes: list[DaysChanged], runs) -> list[AppraisalRun]:
    """The runs made before a change that touches their period."""
    return [run for run in runs
            if any(change.at > (run.started_at or run.finished_at)
                   and change.touches(*days_of(run.period_start, run.period_end)) for change in changes)]
