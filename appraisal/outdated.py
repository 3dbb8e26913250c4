"""Runs that no longer show their period as it is: its feedback arrived or changed after they were made.

A run is a snapshot (runs.py): the items up to its watermark, as they stood when it computed, and its results
stay as they were. Feedback dated in its period may still arrive afterwards (a helpdesk delivering late, a
mystery report approved after the week, a ticket's SLA miss found by the sweep), and items it counted may
change in a way it counted (a flag or dispute decided, an item credited to someone else, a revised value, a new
ticket category: ``Feedback.changed_at``). :func:`changes_since` counts both for runs of record, so HR knows
which periods to run again and why.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core.models import Feedback, Flag

from .models import AppraisalRun

#: How far back HR's home page looks for periods to run again: a quarter, by the day the period ended.
RECENT = timedelta(days=92)


@dataclass(frozen=True)
class Changes:
    """What happened to a run's period after the run: items that arrived, and items it counted that changed."""

    arrived: int
    changed: int
    #: flags about someone's whole period (surveys suppressed on their tickets) that hold their incentives now and
    #: did not for the run (raised since), or held them for the run and no longer do (dismissed since)
    period_flags: int = 0

    def __str__(self) -> str:
        parts = [f"{count} {noun if count == 1 else noun + 's'} {what}" for count, noun, what in
                 ((self.arrived, "item", "arrived"), (self.changed, "item", "changed"),
                  (self.period_flags, "period flag", "changed")) if count]
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + " since"


def changes_since(session: Session, run_ids: Iterable[int], about=None) -> dict[int, Changes]:
    """For each completed run of ``run_ids``, what arrived or changed in its period after it was made; runs with
    nothing are left out. One statement, whatever the number of runs.

    :param about: the employee ids (a list, or a SELECT of them) whose items alone count, for a report of some
        people; None for the whole organisation.

    Flags about someone's whole period count when they hold the person's incentives now and did not for the run,
    or the other way round. The items read ``Feedback.changed_at`` after the run started (took its watermark), through the index of the items
    that have one by their day. An item arrived when its id is past the run's watermark and it counts (accepted,
    with a value): it came more than ``core.models.feedback.LATE`` after its time, since one on time is dated after
    any run of a period already over. One still in quarantine counts once it is let through, which changes it.
    An item changed when it was there for the run, whatever the change did; one the change moved out of the
    period, or away from the people of ``about``, counts where it was (``previous_occurred_at``,
    ``previous_employee_id``).
    """
    ids = sorted(set(run_ids))
    if not ids:
        return {}
    watermark = func.coalesce(AppraisalRun.feedback_watermark, 0)
    arrived = and_(Feedback.id > watermark, Feedback.status == "accepted", Feedback.value.is_not(None))
    changed = Feedback.id <= watermark
    people = [] if about is None else [or_(Feedback.employee_id.in_(about), Feedback.previous_employee_id.in_(about))]
    since = Feedback.changed_at > AppraisalRun.started_at
    # A correlated count per run (SQLite has no LATERAL): each reads the marked items of the run's days.
    counts = [select(func.count()).select_from(Feedback).where(since, which, place, *people).correlate(AppraisalRun)
              .scalar_subquery() for which, place in (
                  (arrived, _within(Feedback.occurred_at)),
                  (changed, or_(_within(Feedback.occurred_at), _within(Feedback.previous_occurred_at))))]
    # As runs.py's _open_flags reads them: an open or upheld flag on a period overlapping the run's holds the
    # person. The run read them as it finished, its own flags raised by then.
    holds = Flag.decision.is_distinct_from("dismissed")
    flags = (select(func.count()).select_from(Flag)
             .where(Flag.feedback_id.is_(None),
                    Flag.period_start < AppraisalRun.period_end, Flag.period_end > AppraisalRun.period_start,
                    or_(and_(holds, Flag.created_at > AppraisalRun.finished_at),
                        and_(~holds, Flag.decided_at > AppraisalRun.started_at,
                             Flag.created_at <= AppraisalRun.finished_at)),
                    *([] if about is None else [Flag.employee_id.in_(about)]))
             .correlate(AppraisalRun).scalar_subquery())
    rows = session.execute(select(AppraisalRun.id, *counts, flags)
                           .where(AppraisalRun.id.in_(ids), AppraisalRun.status == "completed"))
    return {run_id: Changes(came, moved, decided) for run_id, came, moved, decided in rows
            if came or moved or decided}


def _within(moment):
    return and_(moment >= AppraisalRun.period_start, moment < AppraisalRun.period_end)


def outdated_run(session: Session, run: AppraisalRun, about=None) -> Changes | None:
    """What arrived or changed in ``run``'s period after it (see :func:`changes_since`), if it is still the
    period's run of record: a later run counted it already. For a page about one run. Two queries."""
    later = session.scalar(select(AppraisalRun.id).where(
        AppraisalRun.period_start == run.period_start, AppraisalRun.period_end == run.period_end,
        AppraisalRun.status == "completed", AppraisalRun.id > run.id).limit(1))
    return None if later is not None else changes_since(session, [run.id], about).get(run.id)


def runs_of_record(session: Session, ended_after: datetime) -> list[AppraisalRun]:
    """The latest completed run of each period that ended after ``ended_after``, the latest period first."""
    latest = (select(func.max(AppraisalRun.id)).where(AppraisalRun.status == "completed",
                                                      AppraisalRun.period_end > ended_after)
              .group_by(AppraisalRun.period_start, AppraisalRun.period_end))
    return list(session.scalars(select(AppraisalRun).where(AppraisalRun.id.in_(latest))
                                .order_by(AppraisalRun.period_end.desc(), AppraisalRun.period_start.desc())))


def being_run_again(session: Session, runs: Iterable[AppraisalRun]) -> dict[int, int]:
    """For each of ``runs`` whose period a later run, queued or running, is making again: that run's id. The
    changes are that run's to count: nobody is asked to run the period once more. One query."""
    runs = list(runs)
    if not runs:
        return {}
    under_way = {(start, end): run_id for start, end, run_id in session.execute(
        select(AppraisalRun.period_start, AppraisalRun.period_end, func.max(AppraisalRun.id))
        .where(AppraisalRun.status.in_(("queued", "running")))
        .group_by(AppraisalRun.period_start, AppraisalRun.period_end))}
    return {run.id: under_way[(run.period_start, run.period_end)] for run in runs
            if under_way.get((run.period_start, run.period_end), 0) > run.id}


def outdated_runs(session: Session, now: datetime) -> list[tuple[AppraisalRun, Changes]]:
    """The runs of record of the periods that ended within :data:`RECENT` whose feedback arrived or changed
    after them, and that nobody is running again, the latest period first: what HR's home page asks to run
    again. Three queries."""
    runs = runs_of_record(session, now - RECENT)
    found = changes_since(session, [run.id for run in runs])
    again = being_run_again(session, [run for run in runs if run.id in found])
    return [(run, found[run.id]) for run in runs if run.id in found and run.id not in again]
