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
from fractions import Fraction
from typing import Any

from marshmallow import ValidationError

from .disclosure import MIN_COLLEAGUES, thin_pool
from .engine import EmployeeOutcome
from .guideline_schema import OutcomeSchema, part_period

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
    # Two decimals, cut, not rounded: a composite of 59.998 that missed a tier at 60 read "composite 60.0" (and a
    # percentile of 89.96 "percentile 90"), which looked like a wrong decision. One decimal cut read 73.9 beside
    # the 74.0 every other figure rounds 73.99 to; two read 73.99, which agrees with both.
    parts = [f"composite {_cut(outcome.composite, 2)}" if outcome.composite is not None else "no composite"]
    if outcome.percentile is not None:
        parts.append(f"percentile {_cut(outcome.percentile, 2)}")
    if outcome.attainment_streak:
        parts.append(f"targets met {outcome.attainment_streak} period(s) running")
    return ", ".join(parts)


def _cut(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, cut toward minus infinity rather than rounded."""
    scale = 10 ** decimals
    return f"{math.floor(round(value * scale, 6)) / scale:.{decimals}f}"


def tier_proposals(outcomes: Iterable[EmployeeOutcome], guideline: Mapping[str, Any]) -> list[Proposal]:
    """What the tiers give: in each group, the first tier an employee qualifies for."""
    tiers = guideline["incentives"]["tiers"]
    prorate = part_period(guideline)["prorate_bonus"]
    proposals = []
    for outcome in outcomes:
        taken: set[str] = set()
        for tier in tiers:
            if tier["group"] in taken or not qualifies(outcome, tier["conditions"]):
                continue
            taken.add(tier["group"])
            for gift in tier["gives"]:
                reason = f"{tier['name']}: {_describe(outcome)}" + (f" ({gift['note']})" if gift["note"] else "")
                amount = gift["amount"]
                if prorate and gift["kind"] == "bonus" and outcome.worked:
                    amount, reason = prorated(amount, outcome.worked), reason + _proration(amount, outcome.worked)
                    if not amount:  # a cent's share of a few days: nothing to pay, nor to approve
                        continue
                proposals.append(Proposal(outcome.employee_id, gift["kind"], f"tier:{tier['name']}", reason,
                                          amount, amount))
    return proposals


def prorated(amount: float, worked: tuple[int, int]) -> float:
    """``amount`` for ``worked`` (days, of the period's), down to the cent: never more than the share."""
    days, of = worked
    return float((Decimal(str(amount)) * days / of).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def _proration(amount: float, worked: tuple[int, int]) -> str:
    days, of = worked
    return f" (prorated: worked {days} of the period's {of} days, of {amount:.2f})"


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
    # The employee reads this reason: an organisation mean of one colleague besides them is that colleague's score.
    org_mean = (f", below the org's mean (not shown: it pools fewer than {MIN_COLLEAGUES} colleagues)"
                if "org_people" in need and thin_pool(need["org_people"]) else f" against the org's mean {benchmark:.1f}")
    if area == "mystery_section":  # a plugin's need: the section is the metric, counted in reports
        return f"training on {need['name']} (mystery section): {value:.1f} over {need['n']} report(s){org_mean}"
    if area == "ticket_category":
        return f"training on {need['name']}: {metric} {value:.1f} over {need['n']} item(s){org_mean}"
    if area == "metric":
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
    if rule == "pro_rata":
        return allocate_pro_rata([(key, amount, 0.0) for key, amount in requests], cap)
    granted = {}
    for key, cents in asked:
        paid = min(cents, left)
        granted[key] = paid / 100
        left -= paid
    return granted


def allocate_pro_rata(requests: Sequence[tuple[Any, float, float]], left: float) -> dict[Any, float]:
    """Cut bonuses by one factor when some were paid in part on earlier runs of the period.

    Each request is ``(key, whole, paid)``: the bonus the tier gives and what of it was approved before.
    Every bonus comes to the same share f of ``whole``, or stays at what was paid if that is more; f is the
    largest share the ``left`` of the cap can top everyone up to. Each is granted f x whole - paid, rounded
    down to the cent. (Cutting what was still owed by one factor instead gave the person paid in part more
    than their share, and everyone else less.)
    """
    asked = [(key, _cents(whole), _cents(paid)) for key, whole, paid in requests]
    room = _cents(left)
    if sum(max(whole - paid, 0) for _, whole, paid in asked) <= room:
        return {key: max(whole - paid, 0) / 100 for key, whole, paid in asked}
    # sum(max(f*whole - paid, 0)) = room, piecewise linear in f: walk the points where each starts to count.
    ordered = sorted((Fraction(paid, whole), whole, paid) for _, whole, paid in asked if whole > 0)
    share, wholes, paids = Fraction(0), 0, 0
    for index, (start, whole, paid) in enumerate(ordered):
        wholes, paids = wholes + whole, paids + paid
        share = Fraction(room + paids, wholes)
        if index + 1 == len(ordered) or share <= ordered[index + 1][0]:
            break
    share = min(max(share, Fraction(0)), Fraction(1))
    return {key: max(math.floor(share * whole) - paid, 0) / 100 for key, whole, paid in asked}


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


def approved_bonuses(decisions: Iterable[Decision]) -> dict[tuple[int, str], float]:
    """Per employee and source (``tier:Gold``), the bonuses approved on the period's other runs, added up."""
    approved: dict[tuple[int, str], float] = {}
    for d in decisions:
        if d.approved and d.kind == "bonus":
            key = (d.employee_id, d.source)
            approved[key] = approved.get(key, 0.0) + (d.amount or 0.0)
    return approved


def net_of_approved(proposals: Sequence[Proposal], approved: Mapping[tuple[int, str], float]) -> list[Proposal]:
    """Take the bonuses already approved for the period (on earlier runs of it) off this run's bonuses.

    What was approved for a source is taken off that source's bonus: an approved Gold does not shrink the
    same person's Steady bonus, as it did when everything approved was taken off each bonus (a smaller one
    vanished). What was approved for a source that proposes nothing now (a guideline changed the tiers) is
    taken off the person's other bonuses, the largest first: paid is paid. A bonus paid in full is left out;
    one paid in part asks for the difference, saying so.
    """
    owed = dict(approved)
    bonuses = sorted((i for i, p in enumerate(proposals) if p.kind == "bonus"),
                     key=lambda i: -(proposals[i].amount or 0.0))  # the largest are paid off first
    paid = {i: 0.0 for i in bonuses}
    # First what was approved for the same source, spread over that source's bonuses (a tier may give two)...
    for i in bonuses:
        key = (proposals[i].employee_id, proposals[i].source)
        take = round(min(owed.get(key, 0.0), proposals[i].amount), 2)
        if take:
            owed[key] = round(owed[key] - take, 2)
            paid[i] = take
    # ...then what is left of it (a source that proposes less or nothing now) over the person's other bonuses.
    leftover: dict[int, float] = {}
    for (employee_id, _source), amount in owed.items():
        leftover[employee_id] = round(leftover.get(employee_id, 0.0) + amount, 2)
    for i in bonuses:
        employee_id = proposals[i].employee_id
        take = round(min(leftover.get(employee_id, 0.0), proposals[i].amount - paid[i]), 2)
        if take > 0:
            leftover[employee_id] = round(leftover[employee_id] - take, 2)
            paid[i] = round(paid[i] + take, 2)
    result = []
    for index, proposal in enumerate(proposals):
        done = paid.get(index, 0.0)
        if not done:
            result.append(proposal)
        elif proposal.amount > done + 1e-9:
            result.append(replace(proposal, amount=round(proposal.amount - done, 2),
                                  reason=f"{proposal.reason}; {done:.2f} of it already approved for this period"))
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
    if budget["allocation"] == "pro_rata" and budget["cap"] is not None:
        # What a bonus asks is what is still owed of its whole (net_of_approved): the share is of the whole.
        # (what was paid rounded to the cent it was: 60 - 39.7 is 20.299999999999997 in floating point)
        granted = allocate_pro_rata([(i, _whole(proposals[i]), round(_whole(proposals[i]) - proposals[i].amount, 2))
                                     for i in bonuses], budget["cap"])
    else:
        granted = allocate([(i, proposals[i].amount) for i in bonuses], budget["cap"], budget["allocation"])
    result = list(proposals)
    for index, amount in granted.items():
        proposal = proposals[index]
        if abs(amount - proposal.amount) > 1e-9:
            left = f", {spent:.2f} of the cap approved already on earlier runs of the period" if spent else ""
            note = (f"; cut from {proposal.amount:.2f} to {amount:.2f} {budget['currency']} by the budget cap of "
                    f"{guideline['incentives']['budget']['cap']:.2f}{left} ({budget['allocation'].replace('_', ' ')})")
            result[index] = replace(proposal, amount=amount, reason=proposal.reason + note)
    return result


def _whole(proposal: Proposal) -> float:
    """The bonus as its tier or plugin gives it, before anything approved earlier was taken off."""
    return proposal.requested_amount if proposal.requested_amount is not None else proposal.amount
