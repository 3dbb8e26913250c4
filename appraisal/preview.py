"""What a draft guideline would change: the last completed run's period appraised under the draft, stored nowhere.

The draft is appraised on the run's own snapshot (the feedback up to its watermark) and set beside the results
the run stored. Targets and flags are read as they stand now, as a re-run would read them. The recommendations
are compared as they stand for the period: before, what its runs approved and what the run left open; after,
what was approved and stays, and what a re-run under the draft would add to it. Nothing is written: the caller
may hand in a read-only session.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.collector import collector_paused
from core.models import Employee, Flag, Team

from .engine import Appraisal
from .models import AppraisalResult, AppraisalRun, Guideline
from .periods import Period, period_of
from .results import run_rows
from .runs import appraisal_inputs, period_findings, propose, result_values

#: Composites closer than this are shown as unchanged (the page shows two decimals).
COMPOSITE_TOLERANCE = 0.005


@dataclass(frozen=True)
class Offer:
    """One recommendation as the guideline gives it: what, and how much for a bonus."""

    kind: str
    amount: float | None = None

    @property
    def label(self) -> str:
        if self.kind != "bonus":
            return self.kind
        return f"bonus {self.amount:.2f}" if self.amount else "bonus (not funded)"


@dataclass(frozen=True)
class Standing:
    """An employee's outcome under one guideline: what the preview compares."""

    state: str
    composite: float | None
    rank: int | None
    percentile: float | None
    peers: int
    offers: tuple[Offer, ...] = ()

    @property
    def bonus(self) -> float:
        return sum(offer.amount or 0.0 for offer in self.offers if offer.kind == "bonus")


@dataclass
class PreviewRow:
    employee_id: int
    name: str
    team: str | None
    #: None when the employee was not in the run (joined since), or is no longer active (``after``).
    before: Standing | None
    after: Standing | None
    changes: list[str] = field(default_factory=list)

    @property
    def composite_change(self) -> float | None:
        if self.before is None or self.after is None or None in (self.before.composite, self.after.composite):
            return None
        return self.after.composite - self.before.composite

    @property
    def rank_change(self) -> int | None:
        """Places gained (positive) or lost (negative)."""
        if self.before is None or self.after is None or None in (self.before.rank, self.after.rank):
            return None
        return self.before.rank - self.after.rank


@dataclass
class Preview:
    run: AppraisalRun
    period: Period
    #: The version the run used.
    version: int
    rows: list[PreviewRow]

    @property
    def changed(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.changes]

    def summary(self) -> dict[str, Any]:
        """Org-wide figures under the run's version and under the draft."""
        def figures(standings: Sequence[Standing]) -> dict[str, Any]:
            composites = [s.composite for s in standings if s.rank is not None]  # the means average the ranked
            offers = Counter(offer.kind for s in standings for offer in s.offers
                             if offer.kind != "bonus" or offer.amount)
            return {"ranked": len(composites),
                    "mean": sum(composites) / len(composites) if composites else None,
                    "bonus": sum(s.bonus for s in standings), "offers": dict(sorted(offers.items()))}

        return {"before": figures([r.before for r in self.rows if r.before is not None]),
                "after": figures([r.after for r in self.rows if r.after is not None]),
                "moved": sum(1 for r in self.rows if r.rank_change), "changed": len(self.changed)}


def last_completed_run(session: Session) -> AppraisalRun | None:
    """The run that finished last, with its guideline."""
    return session.scalar(select(AppraisalRun).where(AppraisalRun.status == "completed")
                          .order_by(AppraisalRun.finished_at.desc(), AppraisalRun.id.desc()).limit(1))


@collector_paused()
def preview_guideline(session: Session, document: Mapping[str, Any], plugins) -> Preview | None:
    """Appraise the last completed run's period under ``document`` and set it beside the run's results.

    :param document: a guideline as :func:`appraisal.guideline_schema.validate_guideline` returns it.
    :return: None when no run has completed yet, so there is nothing to compare with.
    """
    run = last_completed_run(session)
    if run is None:
        return None
    period = period_of(run)
    stored = {row["employee_id"]: row for row in run_rows(session, run)}
    specs, inputs, case_mix = appraisal_inputs(session, document, period, run.feedback_watermark or 0, plugins)
    # The run raised its own checks' period flags; any the draft's checks would raise besides count as open.
    raised = set(session.execute(select(Flag.check, Flag.employee_id).where(
        Flag.employee_id.is_not(None), Flag.period_start == period.start, Flag.period_end == period.end)).all())
    more = Counter(employee_id for check, employee_id, _ in period_findings(session, document, period, plugins)
                   if (check, employee_id) not in raised)
    if more:
        flags = dict(inputs.open_flags)
        for employee_id, count in more.items():
            flags[employee_id] = flags.get(employee_id, 0) + count
        inputs = replace(inputs, open_flags=flags)
    outcomes = Appraisal(document, specs, case_mix).run(inputs)
    # Transient, never added to the session: the recommend hook sees what a run under the draft would store.
    draft = Guideline(version=None, document=dict(document), note="draft")
    results = ([AppraisalResult(run_id=run.id, **result_values(o)) for _, o in sorted(outcomes.items())]
               if plugins.recommends else ())
    # What was approved for the period stays whatever the draft, and a re-run adds to it. To a re-run, this run
    # is another run of the period: its decisions, automatic approvals included, stand (run_id=None reads all).
    offers = {employee_id: [_offer(r) for r in row["recommendations"] if r["status"] == "approved"]
              for employee_id, row in stored.items()}
    for proposal in propose(session, draft, outcomes, results, plugins, period, run_id=None):
        offers.setdefault(proposal.employee_id, []).append(Offer(proposal.kind, proposal.amount))

    team = aliased(Team)
    names = {employee_id: (name, team_name) for employee_id, name, team_name in session.execute(
        select(Employee.id, Employee.name, team.name).outerjoin(team, team.id == Employee.team_id)
        .where(Employee.id.in_(stored.keys() | outcomes.keys())))}
    rows = []
    for employee_id in stored.keys() | outcomes.keys():
        before = _stored_standing(stored[employee_id]) if employee_id in stored else None
        outcome = outcomes.get(employee_id)
        after = (Standing(outcome.state, outcome.composite, outcome.rank, outcome.percentile, outcome.peers,
                          _sorted(offers.get(employee_id, ()))) if outcome is not None else None)
        name, team_name = names.get(employee_id, (f"employee {employee_id}", None))
        row = PreviewRow(employee_id, name, team_name, before, after)
        row.changes = _changes(row)
        rows.append(row)
    # Ranked first, by rank; then the unranked and those the draft no longer appraises, by name.
    rows.sort(key=lambda r: (r.after is None or r.after.rank is None, (r.after.rank if r.after else None) or 0,
                             r.name, r.employee_id))
    return Preview(run, period, run.guideline.version, rows)


def _sorted(offers) -> tuple[Offer, ...]:
    return tuple(sorted(offers, key=lambda o: (o.kind, o.amount or 0.0)))


def _offer(recommendation: Mapping[str, Any]) -> Offer:
    return Offer(recommendation["kind"], recommendation["amount"])


def _stored_standing(row: Mapping[str, Any]) -> Standing:
    """The run's result, with what stands for the period: approved on any of its runs, or left open by the run
    (its proposals, and the bonuses the cap left unfunded); nothing a person rejected, nothing superseded."""
    # A person rejects, and a later run supersedes, only proposals, and a proposed bonus has an amount: the one
    # rejection without an amount is a bonus the cap left unfunded.
    return Standing(row["state"], row["composite"], row["rank"], row["percentile"], row["peers"],
                    _sorted(_offer(r) for r in row["recommendations"]
                            if r["status"] != "rejected" or (r["kind"] == "bonus" and not r["amount"])))


def _changes(row: PreviewRow) -> list[str]:
    """What the draft changes for one employee, in words."""
    before, after = row.before, row.after
    if before is None:
        return ["not in the run: appraised now (joined, or given the days they worked, since)"]
    if after is None:
        return ["no longer appraised for this period (left, or given the days they worked, since)"]
    changes = []
    if before.composite is not None and after.composite is None:
        changes.append("no longer ranked: too little of the weight has enough data")
    elif before.composite is None and after.composite is not None:
        changes.append(f"now ranked, composite {after.composite:.2f}" if after.rank is not None else
                       f"composite {after.composite:.2f}, not ranked: too little of the period worked")
    elif row.composite_change is not None and abs(row.composite_change) >= COMPOSITE_TOLERANCE:
        changes.append(f"composite {before.composite:.2f} → {after.composite:.2f}")
    if before.rank != after.rank and None not in (before.rank, after.rank):
        changes.append(f"rank {before.rank} → {after.rank} of {after.peers}")
    elif None not in (before.composite, after.composite) and (before.rank is None) != (after.rank is None):
        # the composite stands either way: the guideline's share of the period to rank (part_period) moved
        changes.append("no longer ranked: too little of the period worked" if after.rank is None
                       else f"now ranked {after.rank} of {after.peers}")
    if [o.label for o in before.offers] != [o.label for o in after.offers]:
        before_labels, after_labels = Counter(o.label for o in before.offers), Counter(o.label for o in after.offers)
        changes.append("recommendations: " + ", ".join(
            [f"+ {label}" for label in sorted((after_labels - before_labels).elements())]
            + [f"− {label}" for label in sorted((before_labels - after_labels).elements())]))
    return changes
