"""The appraisal's reads of feedback: every metric of every employee for a period and the one before, in one
GROUP BY, and the case mix (a metric by ticket category) in one more.

Each metric is aggregated as a sum, a count and a sum of squares, which add up across groups: team and org
figures are pooled from the employee groups without reading an item twice.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core.models import Feedback, Ticket

from .periods import Period

CURRENT, PREVIOUS = 1, 0


@dataclass(frozen=True)
class Aggregate:
    """A metric over some items: the sum of their points, how many, and the sum of squared points."""

    total: float
    n: int
    squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    def __add__(self, other: Aggregate) -> Aggregate:
        return Aggregate(self.total + other.total, self.n + other.n, self.squares + other.squares)


EMPTY = Aggregate(0.0, 0, 0.0)


@dataclass(frozen=True)
class MetricSpec:
    """A metric the guideline uses: its slug, the rule that scores it and the rule's parameters."""

    name: str
    rule: Any
    params: Mapping[str, Any]


def _accepted(kinds: Sequence[str], start, end, up_to: int | None = None):
    condition = and_(Feedback.status == "accepted", Feedback.value.is_not(None), Feedback.kind.in_(sorted(kinds)),
                     Feedback.occurred_at >= start, Feedback.occurred_at < end)
    return condition if up_to is None else and_(condition, Feedback.id <= up_to)


def _measures(spec: MetricSpec):
    """SUM, COUNT, SUM of squares of one metric's points, counting only the rule's kinds.

    An item a rule scores NULL (another section's, for a per-section rule) counts in neither.
    """
    mine = Feedback.kind.in_(spec.rule.kinds)
    points = spec.rule.points(Feedback, dict(spec.params))
    return (func.sum(case((mine, points))), func.count(case((mine, points))),
            func.sum(case((mine, points * points))))


def _read(row, offset: int) -> Aggregate:
    total, n, squares = row[offset:offset + 3]
    return Aggregate(float(total or 0.0), int(n or 0), float(squares or 0.0))


def _slots(specs: Sequence[MetricSpec]) -> list[dict[str, MetricSpec]]:
    """Spread the metrics over as few point columns as possible: in each slot a kind is scored by one rule.

    Usually one slot does (each kind read by one rule); a kind two rules read (CSAT% and mean CSAT) needs two.
    """
    slots: list[dict[str, MetricSpec]] = []
    for spec in specs:
        for kind in spec.rule.kinds:
            free = next((slot for slot in slots if kind not in slot), None)
            if free is None:
                free = {}
                slots.append(free)
            free[kind] = spec
    return slots


def metric_aggregates(session: Session, specs: Sequence[MetricSpec], start, end, up_to: int | None = None
                      ) -> tuple[dict[int | None, dict[str, Aggregate]], dict[int | None, int]]:
    """Every metric per employee over [start, end), and each employee's quarantined items, in one query.

    Rows are grouped by employee and kind, as a hand-written GROUP BY would be, and each row is scored once
    per slot (see :func:`_slots`) by the rule its kind belongs to. Quarantined items (those with a flag HR has
    not decided) are counted in the same scan and score nothing.

    :param up_to: count only items with ids up to this one (the run's watermark: its snapshot).
    :return: ``({employee_id (None: unattributed): {metric: Aggregate}}, {employee_id: quarantined})``.
    """
    slots = _slots(specs)
    kinds = {kind for slot in slots for kind in slot}
    accepted = Feedback.status == "accepted"
    columns = [func.count(case((Feedback.status == "quarantined", 1)))]
    for slot in slots:
        scored = {kind: spec.rule.points(Feedback, dict(spec.params)) for kind, spec in sorted(slot.items())}
        points = case((accepted, case(scored, value=Feedback.kind)))
        columns += [func.sum(points), func.count(points), func.sum(points * points)]
    query = (select(Feedback.employee_id, Feedback.kind, *columns)
             .where(Feedback.status.in_(("accepted", "quarantined")), Feedback.value.is_not(None),
                    Feedback.kind.in_(sorted(kinds)), Feedback.occurred_at >= start, Feedback.occurred_at < end,
                    *(() if up_to is None else (Feedback.id <= up_to,)))
             .group_by(Feedback.employee_id, Feedback.kind))
    metrics: dict[int | None, dict[str, Aggregate]] = {}
    quarantined: dict[int | None, int] = {}
    for row in session.execute(query):
        mine = metrics.setdefault(row.employee_id, {})
        quarantined[row.employee_id] = quarantined.get(row.employee_id, 0) + int(row[2] or 0)
        for index, slot in enumerate(slots):
            spec = slot.get(row.kind)
            aggregate = _read(row, 3 + 3 * index)
            if spec is not None and aggregate.n:
                mine[spec.name] = mine.get(spec.name, EMPTY) + aggregate
    return metrics, quarantined


def category_aggregates(session: Session, spec: MetricSpec, period: Period, up_to: int | None = None
                        ) -> dict[int | None, dict[str, Aggregate]]:
    """One metric per employee and ticket category over ``period`` (items without a category are left out).

    :return: ``{employee_id (None: unattributed): {category: Aggregate}}``.
    """
    total, n, squares = _measures(spec)
    query = (select(Feedback.employee_id, Ticket.category, total, n, squares)
             .join(Ticket, Ticket.id == Feedback.ticket_id)
             .where(_accepted(spec.rule.kinds, period.start, period.end, up_to), Ticket.category.is_not(None))
             .group_by(Feedback.employee_id, Ticket.category))
    results: dict[int | None, dict[str, Aggregate]] = {}
    for row in session.execute(query):
        aggregate = _read(row, 2)
        if aggregate.n:
            results.setdefault(row.employee_id, {})[row.category] = aggregate
    return results
