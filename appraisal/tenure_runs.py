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
_DAYS = ("started_on", "left_on")


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


def days_changed(entry: AuditEntry) -> DaysChanged | None:
    """The days a tenure audit entry alters, or None for an entry that changed neither day (a new team, say)."""
    before, after = entry.before or {}, entry.after or {}
    if "started_on" in after and before.get("started_on") != after["started_on"]:
        # The days from the earlier of the two (no day: from the beginning) up to the later one, which is
        # the first day on which both say they worked.
        days = [d for d in (_day(before.get("started_on")), _day(after["started_on"])) if d]
        return DaysChanged(entry.at, None if len(days) < 2 else min(days), max(days) - timedelta(days=1))
    if "left_on" in after and (before.get("left_on") != after["left_on"] or before.get("active") != after.get("active")):
        # The days after the earlier of the two up to the later one (no day: still employed, to the end of time).
        days = [_day(before.get("left_on")), _day(after["left_on"])]
        known = [d for d in days if d]
        if not known:  # left with no day given: runs leave them out of every period, so every period changed
            return DaysChanged(entry.at, None, None)
        return DaysChanged(entry.at, min(known) + timedelta(days=1), None if None in days else max(known))
    return None


def runs_by_old_days(session: Session, employee: Employee) -> list[AppraisalRun]:
    """The latest completed run of each period that was made before a change of ``employee``'s days touching
    that period, oldest period first. Two queries, whatever the number of runs or changes."""
    changes = [change for change in map(days_changed, session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == Employee.__tablename__,
                                 AuditEntry.entity_id == str(employee.id),
                                 AuditEntry.action.in_(TENURE_ACTIONS))
        .order_by(AuditEntry.at))) if change]
    if not changes:
        return []
    latest = (select(func.max(AppraisalRun.id)).where(AppraisalRun.status == "completed")
              .group_by(AppraisalRun.period_start, AppraisalRun.period_end))
    runs = session.scalars(select(AppraisalRun).where(AppraisalRun.id.in_(latest),
                                                      AppraisalRun.finished_at < changes[-1].at)
                           .order_by(AppraisalRun.period_start, AppraisalRun.period_end)).all()
    return [run for run in runs
            if any(change.at > run.finished_at and change.touches(*days_of(run.period_start, run.period_end))
                   for change in changes)]
