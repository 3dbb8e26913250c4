"""Incentive recommendations: the guideline's tiers, training needs turned into training, and the budget cap.

Only bonus, recognition, coaching and training are ever recommended; a bonus is never negative, and the
bonuses of one run never add up to more than the cap. What the period's other runs had decided stands: a
re-run issues again neither what was approved nor what a person rejected, and pays only the difference.
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from marshmallow import ValidationError

from .engine import EmployeeOutcome
from .guideline_schema import OutcomeSchema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proposal:
    employee_id: int
    kind: str
    source: str
    reason: str
    amount: float | None = None
    requested_amount: float | None = None


def qualifies(outcome: EmployeeOutcome, conditions: Mapping[str, Any]) -> bool:
    """True when ``outcome`` meets every condition a tier sets (an unset condition always holds)."""
    composite, percentile = outcome.composite, outcome.percentile
    checks = [
        ("min_composite", lambda v: composite is not None and composite >= v),
        ("max_composite", lambda v: composite is not None and composite <= v),
        ("min_percentile", lambda v: percentile is not None and percentile >= v),
        ("max_percentile", lambda v: percentile is not None and percentile <= v),
        ("min_streak", lambda v: outcome.attainment_streak >= v),
        ("min_n", lambda v: outcome.n >= v),
    ]
    if conditions.get("no_open_flags", True) and outcome.open_flags:
        return False
    return all(test(conditions[key]) for key, test in checks if conditions.get(key) is not None)


def _describe(outcome: EmployeeOutcome) -> str:
    parts = [f"composite {outcome.composite:.1f}" if outcome.composite is not None else "no composite"]
    if outcome.percentile is not None:
        parts.append(f"percentile {outcome.percentile:.0f}")
    if outcome.attainment_streak:
        parts.append(f"targets met {outcome.attainment_streak} period(s) running")
    return ", ".join(parts)


def tier_proposals(outcomes: Iterable[EmployeeOutcome], guideline: Mapping[str, Any]) -> list[Proposal]:
    """What the tiers give: in each group, the first tier an employee qualifies for."""
    tiers = guideline["incentives"]["tiers"]
    proposals = []
    for outcome in outcomes:
        taken: set[str] = set()
        for tier in tiers:
            if tier["group"] in taken or not qualifies(outcome, tier["conditions"]):
                continue
            taken.add(tier["group"])
            for gift in tier["gives"]:
                reason = f"{tier['name']}: {_describe(outcome)}" + (f" ({gift['note']})" if gift["note"] else "")
                proposals.append(Proposal(outcome.employee_id, gift["kind"], f"tier:{tier['name']}", reason,
                                          gift["amount"], gift["amount"]))
    return proposals


def training_proposals(outcomes: Iterable[EmployeeOutcome], guideline: Mapping[str, Any],
                       titles: Mapping[str, str] | None = None) -> list[Proposal]:
    """One training recommendation per training need, when the guideline asks for them.

    :param titles: the metrics' titles by slug, for the reasons people read (``CSAT %``, not ``csat_percent``).
    """
    if not guideline["training"]["recommend"]:
        return []
    proposals = []
    for outcome in outcomes:
        for need in outcome.training_needs:
            proposals.append(Proposal(outcome.employee_id, "training", f"training:{need['area']}",
                                      training_reason(need, titles)))
    return proposals


def training_reason(need: Mapping[str, Any], titles: Mapping[str, str] | None = None) -> str:
    """What a training recommendation says: the need, what it was measured on and the benchmark it misses."""
    area, value, benchmark = need["area"], need["value"], need["benchmark"]
    titles = titles or {}
    metric = titles.get(need.get("metric"), need.get("metric"))
    if area == "mystery_section":  # a plugin's need: the section is the metric, counted in reports
        return (f"training on {need['name']} (mystery section): {value:.1f} over {need['n']} report(s) against "
                f"the org's mean {benchmark:.1f}")
    if area == "ticket_category":
        subject, against = need["name"], "the org's mean"
    elif area == "metric":
        subject, against = metric, "the target"
    else:  # another plugin's area: name it, as the employee's report does
        subject, against = f"{need['name']} ({area.replace('_', ' ')})", "a benchmark of"
    return (f"training on {subject}: {metric} {value:.1f} over {need['n']} item(s) "
            f"against {against} {benchmark:.1f}")


def plugin_proposal(employee_id: int, source: str, raw: Any) -> Proposal | None:
    """A ``recommend`` hook's answer as a proposal; anything a guideline could not give is refused (logged)."""
    amount = raw.get("amount") if isinstance(raw, Mapping) else None
    if isinstance(amount, float) and math.isfinite(amount):
        # A plugin's arithmetic (73.3 * 1.5 = 109.94999999999999) is not a typo: round it to the cent that a
        # guideline's own amounts are held to, rather than refuse the bonus.
        amount = round(amount, 2)
    try:
        data = OutcomeSchema().load({"kind": raw.get("kind"), "amount": amount,
                                     "note": raw.get("reason")} if isinstance(raw, Mapping) else raw)
    except ValidationError as exc:
        log.error("plugin %s proposed %r for employee %s and it was refused: %s", source, raw, employee_id,
                  exc.messages)
        return None
    return Proposal(employee_id, data["kind"], f"plugin:{source}", data["note"] or data["kind"],
                    data["amount"], data["amount"])


def _cents(amount: float) -> int:
    return int((Decimal(str(amount)) * 100).to_integral_value(rounding=ROUND_FLOOR))


def allocate(requests: Sequence[tuple[Any, float]], cap: float | None, rule: str) -> dict[Any, float]:
    """Fit bonus requests, given best-ranked first, under ``cap``; return the amount granted to each key.

    ``rank_order``: the best-ranked are paid in full while the budget lasts; the first who no longer fits
    gets what is left, the rest nothing. ``pro_rata``: every request is cut by the same factor (cap / total),
    rounded down to the cent. Either way the grants never add up to more than the cap.
    """
    asked = [(key, _cents(amount)) for key, amount in requests]
    if cap is None:
        return {key: cents / 100 for key, cents in asked}
    left = _cents(cap)
    total = sum(cents for _, cents in asked)
    if total <= left:
        return {key: cents / 100 for key, cents in asked}
    granted = {}
    if rule == "pro_rata":
        for key, cents in asked:
            granted[key] = (cents * left // total) / 100 if total else 0.0
        return granted
    for key, cents in asked:
        paid = min(cents, left)
        granted[key] = paid / 100
        left -= paid
    return granted


@dataclass(frozen=True)
class Decision:
    """A recommendation decided on another run of the period: approved, or rejected by a person."""

    employee_id: int
    kind: str
    source: str
    reason: str
    amount: float | None
    approved: bool


def standing_key(kind: str, source: str, reason: str) -> tuple[str, ...]:
    """What makes two recommendations for one person and period the same one: their kind and source, and
    for training the need it is about.

    A training recommendation's source names only the need's area (``training:ticket_category``); its reason
    names the need before its last colon (``training on Billing: csat_percent 40.0 over ...``), and what
    follows, the measures, changes from run to run.
    """
    if kind == "training" and source.startswith("training:"):
        return kind, source, reason.rpartition(": ")[0]
    return kind, source


def without_decided(proposals: Sequence[Proposal], decisions: Iterable[Decision]) -> list[Proposal]:
    """Leave out what the period's other runs decided: what was approved (a bonus apart: see
    :func:`net_of_approved`), and what a person rejected, bonuses included, so the budget it freed goes on.

    Each decision stands for one proposal of the same person and :func:`standing_key`.
    """
    decided = Counter((d.employee_id, *standing_key(d.kind, d.source, d.reason))
                      for d in decisions if not (d.approved and d.kind == "bonus"))
    result = []
    for proposal in proposals:
        key = (proposal.employee_id, *standing_key(proposal.kind, proposal.source, proposal.reason))
        if decided[key]:
            decided[key] -= 1
        else:
            result.append(proposal)
    return result


def approved_bonuses(decisions: Iterable[Decision]) -> dict[int, float]:
    """Per employee, the bonuses approved on the period's other runs, added up."""
    approved: dict[int, float] = {}
    for d in decisions:
        if d.approved and d.kind == "bonus":
            approved[d.employee_id] = approved.get(d.employee_id, 0.0) + (d.amount or 0.0)
    return approved


def net_of_approved(proposals: Sequence[Proposal], approved: Mapping[int, float]) -> list[Proposal]:
    """Take the bonuses already approved for the period (on earlier runs of it) off this run's bonuses.

    An employee already paid at least as much gets no new bonus; one paid less gets the difference, saying so.
    """
    result = []
    for proposal in proposals:
        paid = approved.get(proposal.employee_id, 0.0)
        if proposal.kind != "bonus" or not paid:
            result.append(proposal)
        elif proposal.amount > paid + 1e-9:
            result.append(replace(proposal, amount=round(proposal.amount - paid, 2),
                                  reason=f"{proposal.reason}; {paid:.2f} of it already approved for this period"))
    return result


def apply_budget(proposals: Sequence[Proposal], outcomes: Mapping[int, EmployeeOutcome],
                 guideline: Mapping[str, Any], spent: float = 0.0) -> list[Proposal]:
    """Cap the run's bonuses as the guideline says; a cut bonus says so in its reason.

    :param spent: bonuses already approved for the same period on earlier runs; they use up the cap first.
    """
    budget = dict(guideline["incentives"]["budget"])
    if budget["cap"] is not None:
        budget["cap"] = max(budget["cap"] - spent, 0.0)

    def standing(index: int):
        outcome = outcomes.get(proposals[index].employee_id)
        rank = outcome.rank if outcome is not None and outcome.rank is not None else float("inf")
        return rank, proposals[index].employee_id, index

    bonuses = sorted((i for i, p in enumerate(proposals) if p.kind == "bonus"), key=standing)
    granted = allocate([(i, proposals[i].amount) for i in bonuses], budget["cap"], budget["allocation"])
    result = list(proposals)
    for index, amount in granted.items():
        proposal = proposals[index]
        if abs(amount - proposal.amount) > 1e-9:
            left = f", {spent:.2f} of it already approved" if spent else ""
            note = (f"; cut from {proposal.amount:.2f} to {amount:.2f} {budget['currency']} by the budget cap of "
                    f"{guideline['incentives']['budget']['cap']:.2f}{left} ({budget['allocation'].replace('_', ' ')})")
            result[index] = replace(proposal, amount=amount, reason=proposal.reason + note)
    return result
