"""The appraisal itself: from aggregates to each employee's metrics, composite, standing, targets and needs.

Everything here works on the aggregates :mod:`appraisal.aggregates` reads (a handful per employee), never on
feedback items, and touches no database: the same inputs always give the same outcome.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import formulas
from .aggregates import CURRENT, EMPTY, PREVIOUS, Aggregate, MetricSpec
from .employment import worked_enough
from .guideline_schema import part_period
from .guidelines import metric_bounds


@dataclass(frozen=True)
class Person:
    id: int
    team_id: int | None
    #: (days worked, days in the period) for someone who joined or left within it; None for all of it.
    worked: tuple[int, int] | None = None


@dataclass
class MetricOutcome:
    metric: str
    weight: float
    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    sufficient: bool
    shrunk: float | None
    normalised: float | None
    team_mean: float | None
    org_mean: float | None
    previous_value: float | None = None
    previous_n: int = 0
    change: float | None = None
    target: float | None = None
    target_id: int | None = None
    attainment: str | None = None


@dataclass
class EmployeeOutcome:
    employee_id: int
    team_id: int | None
    metrics: dict[str, MetricOutcome]
    state: str
    composite: float | None
    weight_covered: float
    #: Items behind the metrics that count in the composite.
    n: int
    rank: int | None = None
    percentile: float | None = None
    peers: int = 0
    team_mean: float | None = None
    org_mean: float | None = None
    previous_composite: float | None = None
    change: float | None = None
    targets_state: str = "no_targets"
    attainment_streak: int = 0
    open_flags: int = 0
    case_mix: dict = field(default_factory=dict)
    training_needs: list = field(default_factory=list)
    #: As :attr:`Person.worked`.
    worked: tuple[int, int] | None = None


@dataclass(frozen=True)
class Inputs:
    """Everything an appraisal needs besides the guideline, read beforehand by :mod:`appraisal.runs`."""

    people: Sequence[Person]
    #: metric_aggregates() of the period and of the one before: {CURRENT | PREVIOUS: {employee_id: {metric: ...}}}
    aggregates: Mapping[int, Mapping[int | None, Mapping[str, Aggregate]]]
    #: {employee_id: {metric: (target_id, value)}}
    targets: Mapping[int, Mapping[str, tuple[int, float]]] = field(default_factory=dict)
    #: {employee_id: streak in the previous period of the same kind}
    previous_streaks: Mapping[int, int] = field(default_factory=dict)
    open_flags: Mapping[int, int] = field(default_factory=dict)
    #: period_aggregates().categories, the case-mix metric by category: {employee_id: {category: Aggregate}}
    categories: Mapping[int | None, Mapping[str, Aggregate]] = field(default_factory=dict)
    #: Training needs the plugins found in their own data (``training_needs`` hook): {employee_id: [need]}
    training_needs: Mapping[int, Sequence[Mapping[str, Any]]] = field(default_factory=dict)


def _pool(aggregates) -> Aggregate:
    """The aggregates added up, in the order given (so re-runs add in the same order and agree to the bit)."""
    # Three running sums, not Aggregate.__add__: a run pools tens of thousands, and each new frozen
    # dataclass cost more than the additions.
    total, n, squares = 0.0, 0, 0.0
    for aggregate in aggregates:
        total += aggregate.total
        n += aggregate.n
        squares += aggregate.squares
    return Aggregate(total, n, squares)


def _value_range(spec: MetricSpec) -> tuple[float, float] | None:
    """The values a metric can take, which its interval is cut to: its rule's bounds (a rating's scale),
    else from its floor up (a duration), else None. Not the guideline's normalising bounds, which only say
    what counts as 0 and 100: cut to those, an interval came out back to front."""
    bounds = spec.rule.value_bounds(spec.params)
    if bounds:
        return float(bounds[0]), float(bounds[1])
    return (float(spec.rule.floor), math.inf) if spec.rule.floor is not None else None


class Appraisal:
    """One guideline applied to one period's inputs."""

    def __init__(self, guideline: Mapping[str, Any], specs: Sequence[MetricSpec], case_mix: MetricSpec | None = None):
        """:param case_mix: the case-mix metric, when the guideline names one (it need not weigh it)."""
        self.guideline = guideline
        self.case_mix = case_mix
        self.case_mix_direction = case_mix.rule.direction if case_mix else "higher"
        self.specs = list(specs)
        self.by_name = {m["rule"]: m for m in guideline["metrics"]}
        self.directions = {spec.name: spec.rule.direction for spec in self.specs}
        # The feedback each metric reads: metrics reading the same kinds read the same items.
        self.reads = {spec.name: frozenset(spec.rule.kinds) or frozenset((spec.name,)) for spec in self.specs}
        self.total_weight = sum(m["weight"] for m in guideline["metrics"])

    # --- one period -----------------------------------------------------------------------------------

    def _min_n(self, metric: str) -> int:
        return self.by_name[metric]["min_n"] or self.guideline["min_sample"]

    def _bounds(self, spec: MetricSpec) -> tuple[float, float]:
        return metric_bounds({**self.by_name[spec.name], "params": spec.params}, spec.rule)

    def score_period(self, people: Sequence[Person], groups: Mapping[int | None, Mapping[str, Aggregate]]
                     ) -> dict[int, EmployeeOutcome]:
        """Metrics and composite of each person from one period's aggregates (no ranks yet)."""
        guideline = self.guideline
        names = [s.name for s in self.specs]
        org = {name: _pool(g[name] for g in groups.values() if name in g) for name in names}
        members: dict[int | None, list[Mapping[str, Aggregate]]] = {}
        for person in people:
            members.setdefault(person.team_id, []).append(groups.get(person.id, {}))
        team = {team_id: {name: _pool(g[name] for g in mine if name in g) for name in names}
                for team_id, mine in members.items() if team_id is not None}
        # How many of a team have items of each metric: where only one has, the team's mean is theirs alone.
        contributors = {team_id: {name: sum(1 for g in mine if name in g and g[name].n) for name in names}
                        for team_id, mine in members.items() if team_id is not None}
        confidence, strength = guideline["confidence_level"], guideline["shrinkage_strength"]
        # What each metric's working-out needs, looked up once rather than once per person.
        plan = [(spec.name, self.by_name[spec.name]["weight"], self._bounds(spec), self._min_n(spec.name),
                 spec.rule.is_proportion(spec.params), spec.rule.direction, org[spec.name].mean,
                 _value_range(spec), spec)
                for spec in self.specs]
        team_means = {team_id: {name: pooled.mean for name, pooled in metrics.items()}
                      for team_id, metrics in team.items()}
        outcomes = {}
        for person in people:
            mine = groups.get(person.id, {})
            teams = team_means.get(person.team_id) if person.team_id is not None else None
            metrics = {}
            for name, weight, bounds, min_n, proportion, direction, org_mean, value_range, spec in plan:
                aggregate = mine.get(name, EMPTY)
                n = aggregate.n
                team_mean = teams[name] if teams is not None else None
                if n and team_mean is not None and contributors[person.team_id][name] == 1:
                    # Alone in their team with items: the team's mean is their own, which shrinking toward
                    # would leave them where they are, and is no benchmark. The organisation's stands instead.
                    team_mean = None
                value = aggregate.total / n if n else None
                sufficient = n >= min_n
                if value is None:
                    low = high = shrunk = None
                else:
                    low, high = self._interval(spec, proportion, value, aggregate, confidence, value_range)
                    # The prior is the team's mean, or the org's for someone in no team (or alone in it).
                    prior = team_mean if team_mean is not None else org_mean
                    shrunk = formulas.shrink(value, n, prior, strength)
                normalised = (formulas.normalise(shrunk, bounds, direction)
                              if sufficient and shrunk is not None else None)
                metrics[name] = MetricOutcome(name, weight, n, value, low, high, sufficient, shrunk, normalised,
                                              team_mean, org_mean)
            parts = [(m.weight, m.normalised) for m in metrics.values() if m.sufficient]
            covered = 100.0 * sum(w for w, _ in parts) / self.total_weight
            ok = bool(parts) and covered >= guideline["composite_min_weight"] - 1e-9
            outcomes[person.id] = EmployeeOutcome(
                person.id, person.team_id, metrics, "ok" if ok else "insufficient_data",
                formulas.composite(parts) if ok else None, covered, self._items_behind(metrics), worked=person.worked)
        return outcomes

    @staticmethod
    def _interval(spec: MetricSpec, proportion: bool, value: float, aggregate: Aggregate, confidence: float,
                  value_range) -> tuple[float | None, float | None]:
        own = spec.rule.interval(spec.params, aggregate.n, aggregate.total, aggregate.squares, confidence)
        if own is not None:
            return own
        if proportion:
            return tuple(100 * x for x in formulas.wilson_interval(value / 100, aggregate.n, confidence))
        return formulas.mean_interval(value, aggregate.n, aggregate.squares, confidence, value_range)

    def _items_behind(self, metrics: Mapping[str, MetricOutcome]) -> int:
        """Items behind the metrics that count: two rules reading the same answers (CSAT % and CSAT mean)
        count them once, so a tier's ``min_n`` is not met on half the answers it asks for."""
        by_kinds: dict[frozenset, int] = {}
        for name, kinds in self.reads.items():
            if metrics[name].sufficient:
                by_kinds[kinds] = max(by_kinds.get(kinds, 0), metrics[name].n)
        return sum(by_kinds.values())

    # --- the whole appraisal --------------------------------------------------------------------------

    def run(self, inputs: Inputs) -> dict[int, EmployeeOutcome]:
        """Appraise every person: current and previous period, standing, targets, case mix, needs."""
        people = sorted(inputs.people, key=lambda p: p.id)
        current = self.score_period(people, inputs.aggregates.get(CURRENT, {}))
        previous = self.score_period(people, inputs.aggregates.get(PREVIOUS, {}))
        self._compare(current, previous)
        self._stand(current)
        self._attain(current, inputs)
        org_categories = self._org_categories(inputs.categories)
        for outcome in current.values():
            outcome.open_flags = inputs.open_flags.get(outcome.employee_id, 0)
            outcome.case_mix = self._case_mix(inputs.categories.get(outcome.employee_id, {}), org_categories)
            found = inputs.training_needs.get(outcome.employee_id, ())
            outcome.training_needs = self._training_needs(outcome, found)
        return current

    def _compare(self, current, previous) -> None:
        for employee_id, outcome in current.items():
            before = previous[employee_id]
            outcome.previous_composite = before.composite
            # Only between composites of the same metrics: when one had too few answers in one of the periods,
            # the difference of the two measured the metric coming or going (-8.0 where nothing had changed).
            alike = ({n for n, m in outcome.metrics.items() if m.sufficient}
                     == {n for n, m in before.metrics.items() if m.sufficient})
            if outcome.composite is not None and before.composite is not None and alike:
                outcome.change = outcome.composite - before.composite
            for name, metric in outcome.metrics.items():
                earlier = before.metrics[name]
                metric.previous_value, metric.previous_n = earlier.value, earlier.n
                if metric.sufficient and earlier.sufficient:
                    metric.change = metric.value - earlier.value

    def _stand(self, outcomes: Mapping[int, EmployeeOutcome]) -> None:
        """Rank and percentile among eligible peers (org or team, per the guideline); composite means.

        Eligible: with a composite, and having worked the share of the period the guideline asks for. The means
        are of the eligible, whom a rank is measured against.
        """
        min_share = part_period(self.guideline)["min_share_worked"]
        eligible = {e: o for e, o in outcomes.items()
                    if o.composite is not None and worked_enough(o.worked, min_share)}
        org_mean = (sum(o.composite for o in eligible.values()) / len(eligible)) if eligible else None
        by_team: dict[int | None, dict[int, float]] = {}
        for employee_id, outcome in eligible.items():
            by_team.setdefault(outcome.team_id, {})[employee_id] = outcome.composite
        scope = self.guideline["ranking_scope"]
        groups = by_team.values() if scope == "team" else [{e: o.composite for e, o in eligible.items()}]
        for group in groups:
            for employee_id, (rank, percentile) in formulas.ranks(group).items():
                outcomes[employee_id].rank, outcomes[employee_id].percentile = rank, percentile
                outcomes[employee_id].peers = len(group)
        for outcome in outcomes.values():
            team = by_team.get(outcome.team_id) if outcome.team_id is not None else None
            outcome.team_mean = sum(team.values()) / len(team) if team else None
            outcome.org_mean = org_mean
            if outcome.rank is None:
                outcome.peers = len(eligible) if scope == "org" else len(by_team.get(outcome.team_id, {}))

    def _attain(self, outcomes, inputs: Inputs) -> None:
        default_levels = self.guideline["attainment"]
        for employee_id, outcome in outcomes.items():
            targets = inputs.targets.get(employee_id, {})
            if not targets:
                outcome.targets_state = "no_targets"
                outcome.attainment_streak = 0
                continue
            all_met, judged = True, False
            for name, (target_id, value) in targets.items():
                metric = outcome.metrics.get(name)
                if metric is None:
                    continue
                metric.target, metric.target_id = value, target_id
                levels = self.by_name[name]["attainment"] or default_levels
                if metric.sufficient:
                    metric.attainment = formulas.attainment(metric.value, value, levels["far_below"],
                                                            levels["exceeded"], self.directions[name])
                    judged = True
                all_met = all_met and metric.attainment in ("met", "exceeded")
            # Too few items under every target says nothing either way: not "not met", but not a streak either.
            outcome.targets_state = "met" if all_met else "not_met" if judged else "not_judged"
            outcome.attainment_streak = inputs.previous_streaks.get(employee_id, 0) + 1 if all_met else 0

    @staticmethod
    def _org_categories(categories) -> dict[str, tuple[Aggregate, int]]:
        """Per category: the org's pooled aggregate (unattributed items too), and how many people it pools."""
        by_category: dict[str, list[Aggregate]] = {}
        people: dict[str, int] = {}
        for employee_id, groups in categories.items():
            for category, aggregate in groups.items():
                by_category.setdefault(category, []).append(aggregate)
                people[category] = people.get(category, 0) + (employee_id is not None)
        return {category: (_pool(aggregates), people[category]) for category, aggregates in by_category.items()}

    def _case_mix(self, mine: Mapping[str, Aggregate], org: Mapping[str, tuple[Aggregate, int]]) -> dict:
        """The case-mix metric by ticket category against the org, and what the org would score on this mix."""
        if not mine:
            return {}
        # The gap is measured in the better direction, so a negative gap is always a shortfall.
        sign = 1 if self.case_mix_direction == "higher" else -1
        rows = []
        for category, aggregate in sorted(mine.items()):
            pooled, people = org[category]
            value, org_value = aggregate.total / aggregate.n, pooled.mean
            # org_people: so that what an employee reads can leave out a mean of one colleague's items.
            rows.append({"category": category, "n": aggregate.n, "value": value, "org_value": org_value,
                         "org_n": pooled.n, "org_people": people, "gap": sign * (value - org_value)})
        n = sum(r["n"] for r in rows)
        actual = sum(r["value"] * r["n"] for r in rows) / n
        # The org's category means weighted by this employee's mix: the score to expect from this workload.
        expected = sum(r["org_value"] * r["n"] for r in rows) / n
        return {"metric": self.guideline["case_mix_metric"], "categories": rows, "n": n, "value": actual,
                "expected": expected, "difference": sign * (actual - expected)}

    def _training_needs(self, outcome: EmployeeOutcome, found: Sequence[Mapping[str, Any]] = ()) -> list[dict]:
        """Weak ticket categories, metrics far below target and what plugins ``found``: the weakest first."""
        settings = self.guideline["training"]
        needs = [{"area": "ticket_category", "name": row["category"], "metric": outcome.case_mix["metric"],
                  "value": row["value"], "benchmark": row["org_value"], "n": row["n"], "gap": row["gap"],
                  "org_people": row["org_people"]}
                 for row in outcome.case_mix.get("categories", ())
                 if row["n"] >= settings["min_n"] and row["gap"] < -settings["gap"]]
        needs += [{"area": "metric", "name": metric.metric, "metric": metric.metric, "value": metric.value,
                   "benchmark": metric.target, "n": metric.n,
                   "gap": (metric.value - metric.target) * (1 if self.directions[metric.metric] == "higher" else -1)}
                  for metric in outcome.metrics.values() if metric.attainment == "far_below"]
        needs += [dict(need) for need in found]
        # Gaps come in their metrics' units (points of CSAT, minutes of reply time): compared as shares of each
        # metric's scale, the composite's own measure, so 56 minutes short does not outrank 30 points of CSAT
        # merely for being a bigger number.
        needs.sort(key=lambda need: (need["gap"] / self._span(need["metric"]), need["area"], need["name"]))
        return needs[:settings["max_needs"]]

    def _span(self, metric: str) -> float:
        """The width of a metric's scale (its bounds, or its rule's for a case-mix metric the guideline does not
        weigh); 100 for one with no bounds known here (a plugin's share, such as a mystery section's score)."""
        spec = next((s for s in self.specs if s.name == metric), None)
        if spec is not None:
            bounds = self._bounds(spec)
        elif self.case_mix is not None and self.case_mix.name == metric:
            bounds = self.case_mix.rule.value_bounds(self.case_mix.params)
        else:
            bounds = None
        return float(bounds[1] - bounds[0]) if bounds and bounds[1] > bounds[0] else 100.0


__all__ = ["CURRENT", "PREVIOUS", "Appraisal", "EmployeeOutcome", "Inputs", "MetricOutcome", "Person"]
