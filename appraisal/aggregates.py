"""The appraisal's reads of feedback: every metric of every employee for a period, with the case mix (a metric
by ticket category), in one GROUP BY; and the period before in one more.

Each metric is aggregated as a sum, a count and a sum of squares, which add up across groups: team and org
figures are pooled from the employee groups without reading an item twice.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Float, Numeric, and_, case, cast, func, null, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, Case, Null

from core import local_time
from core.models import Employee, Feedback

from .periods import days_of

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


@dataclass
class PeriodAggregates:
    """What one scan of a period's feedback gives the appraisal."""

    #: {employee_id (None: unattributed): {metric: Aggregate}}
    metrics: dict[int | None, dict[str, Aggregate]]
    #: {employee_id: quarantined items}
    quarantined: dict[int | None, int]
    #: the case-mix metric by ticket category: {employee_id: {category: Aggregate}} (items without one left out)
    categories: dict[int | None, dict[str, Aggregate]]


def period_aggregates(session: Session, specs: Sequence[MetricSpec], start, end, up_to: int | None = None,
                      case_mix: MetricSpec | None = None, joined: Mapping[int, datetime] | None = None
                      ) -> PeriodAggregates:
    """Every metric per employee over [start, end), their quarantined items and, given ``case_mix``, that
    metric per employee and ticket category: all in one GROUP BY.

    Rows are grouped by employee and kind, as a hand-written GROUP BY would be (and the case-mix metric's kinds
    also by ticket category, which each item carries), and each row is scored once per slot (see
    :func:`_slots`) by the rule its kind belongs to. Quarantined items (those with a flag HR has not decided)
    are counted in the same scan and score nothing.

    :param up_to: count only items with ids up to this one (the run's watermark: its snapshot).
    :param joined: the moment each employee who joined after ``start`` joined (:func:`joined_after`). An item
        credited to them from before it was not theirs: it counts for nobody, as an unattributed item does.
    """
    slots, dialect = _slots(specs), session.get_bind().dialect.name
    kinds = {kind for slot in slots for kind in slot} | set(case_mix.rule.kinds if case_mix else ())
    accepted = Feedback.status == "accepted"
    # Quarantined items of the metrics' own kinds only: a case-mix metric outside the guideline reads kinds
    # that count for nobody's metrics, and must not hold anyone's incentives.
    metric_kinds = sorted({kind for slot in slots for kind in slot})
    columns = [func.count(case((and_(Feedback.status == "quarantined", Feedback.kind.in_(metric_kinds)), 1)))]
    for slot in slots:
        points = {kind: spec.rule.points(Feedback, dict(spec.params)) for kind, spec in sorted(slot.items())}
        scored = {kind: _float(expression) for kind, expression in points.items()}
        columns += _measures(case((accepted, case(scored, value=Feedback.kind))), dialect,
                             all(map(_whole_constants, points.values())),
                             accepted if all(map(_never_null, points.values())) else None)
    group = [counted_for(Feedback.employee_id, Feedback.occurred_at, joined), Feedback.kind]
    mix_at = None
    if case_mix is not None:
        group.append(case((Feedback.kind.in_(case_mix.rule.kinds), Feedback.ticket_category)))
        # Usually the case-mix metric is one of the guideline's: its slot's columns already hold its points.
        mix_at = next((3 + 3 * index for index, slot in enumerate(slots)
                       if all(slot.get(kind) == case_mix for kind in case_mix.rule.kinds)), None)
        if mix_at is None:
            mix_at = 3 + 3 * len(slots)
            mine = and_(accepted, Feedback.kind.in_(case_mix.rule.kinds))
            points = case_mix.rule.points(Feedback, dict(case_mix.params))
            columns += _measures(case((mine, _float(points))), dialect, _whole_constants(points),
                                 mine if _never_null(points) else None)
    # Ordered, so the Python sums over categories add up in the same order on every run: re-runs are identical.
    query = (select(*group[:2], *columns, *group[2:])
             .where(Feedback.status.in_(("accepted", "quarantined")), Feedback.value.is_not(None),
                    Feedback.kind.in_(sorted(kinds)), Feedback.occurred_at >= start, Feedback.occurred_at < end,
                    *(() if up_to is None else (Feedback.id <= up_to,)))
             .group_by(*group).order_by(*group))
    # For each kind, the metrics it counts in and where their columns start: worked out once, not per row.
    counted_in = {kind: [(spec.name, 3 + 3 * index) for index, slot in enumerate(slots)
                         if (spec := slot.get(kind)) is not None] for kind in kinds}
    metrics: dict[tuple[int | None, str], list] = {}
    quarantined: dict[int | None, int] = {}
    categories: dict[tuple[int | None, str], list] = {}
    for row in session.connection().execute(query).all():
        employee_id = row[0]
        quarantined[employee_id] = quarantined.get(employee_id, 0) + row[2]
        for name, offset in counted_in[row[1]]:
            if row[offset + 1]:
                _add(metrics, (employee_id, name), row, offset)
        if mix_at is not None and row[-1] is not None and row[mix_at + 1]:
            _add(categories, (employee_id, row[-1]), row, mix_at)
    found = PeriodAggregates({}, quarantined, {})
    for into, sums in ((found.metrics, metrics), (found.categories, categories)):
        for (employee_id, key), (total, n, squares) in sums.items():
            into.setdefault(employee_id, {})[key] = Aggregate(total, n, squares)
    return found


def counted_for(employee, at, joined: Mapping[int, datetime] | None):
    """SQL: whom a row counts for: its ``employee``, or nobody (NULL) for one from before they joined, by its time
    ``at``. The ``employee`` column as it is when nobody joined during the period, so the usual scan groups as a
    hand-written GROUP BY would.

    :param joined: :func:`joined_after`'s moments; plugins reading their own data for a run use it too.
    """
    if not joined:
        return employee
    before = [(and_(employee == employee_id, at < moment), null()) for employee_id, moment in sorted(joined.items())]
    return case(*before, else_=employee)


def joined_after(session: Session, first: date, last: date) -> dict[int, datetime]:
    """The employees who joined after the day ``first`` and by ``last``, with the moment they did (the
    organisation's midnight of the day they joined): a period's new hires, a handful.

    A run passes its own period's days, and for the period before, that period's first day and its own last:
    someone who joined in the run's period did not work in the one before.
    """
    return {employee_id: local_time.midnight(day) for employee_id, day in session.execute(
        select(Employee.id, Employee.started_on).where(Employee.started_on > first, Employee.started_on <= last))}


def joined_during(session: Session, start: datetime, end: datetime) -> dict[int, datetime]:
    """:func:`joined_after` for the period [``start``, ``end``) as hooks receive it: its bounds, the organisation's
    midnights (whose UTC date is the day before, east of UTC)."""
    return joined_after(session, *days_of(start, end))


def _measures(points, dialect: str, whole: bool = True, scored=None) -> list:
    """SUM, COUNT and SUM of squares of ``points``; a NULL point counts in neither.

    PostgreSQL works an expression out again wherever it appears: ``power(points, 2)`` spares one working-out
    of the rule's CASE per row (a fifth of the scan). SQLite may lack ``power``; it squares by multiplying.

    :param whole: the points are whole-number constants (see :func:`_whole_constants`), which float8 adds
        exactly. Other points (a rating, minutes, a sentiment score) are added as numeric on PostgreSQL: its
        parallel workers hand over their partial float8 sums in no fixed order, and a re-run of the same
        period could then differ in the last bits. numeric adds exactly, so every order gives the same sum;
        it costs about a sixth more scan time, and only for such metrics. SQLite has no parallel workers.
    :param scored: when every row it holds has a point (see :func:`_never_null`), the condition that picks the
        rows ``points`` scores: COUNT tests it rather than working the rule's CASE out a third time per row
        (a sixth of the scan). Rows of kinds outside the rule are counted too, and never read.
    """
    count = func.count(points) if scored is None else func.count(case((scored, 1)))
    if dialect == "postgresql" and not whole:
        exact = cast(points, Numeric)
        return [cast(func.sum(exact), Float), count, cast(func.sum(exact * exact), Float)]
    square = func.power(points, 2) if dialect == "postgresql" else points * points
    return [func.sum(points), count, func.sum(square)]


def _never_null(points) -> bool:
    """Whether a rule's points are a number for every item of its kinds: constants, or CASEs of them with an
    ELSE (``CASE WHEN value >= 4 THEN 100.0 ELSE 0.0 END``), whatever the item holds."""
    if isinstance(points, BindParameter):
        value = points.value
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(points, Case):
        return (points.else_ is not None and _never_null(points.else_)
                and all(_never_null(result) for _, result in points.whens))
    return False


def _whole_constants(points) -> bool:
    """Whether a rule's points are whole-number constants only (``CASE ... THEN 100.0 ELSE 0.0 END``).

    Such points add up exactly in float8, in any order, up to 2**53.
    """
    if points is None or isinstance(points, Null):
        return True
    if isinstance(points, BindParameter):
        value = points.value
        return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if isinstance(points, Case):
        return all(_whole_constants(result) for _, result in points.whens) and _whole_constants(points.else_)
    return False


def _float(points):
    """A rule's points as float8. Rules that award fixed points write ``100.0``, which PostgreSQL reads as
    numeric, and adding a million numerics in software took a third of the scan. Such points (0, 100, -100)
    add up exactly in float8 whatever the order; points taken from an item's value were float8 already."""
    return cast(points, Float)


def _add(sums: dict, key, row, offset: int) -> None:
    held = sums.get(key)
    if held is None:
        sums[key] = [row[offset] or 0.0, row[offset + 1], row[offset + 2] or 0.0]
    else:
        held[0] += row[offset] or 0.0
        held[1] += row[offset + 1]
        held[2] += row[offset + 2] or 0.0


def metric_aggregates(session: Session, specs: Sequence[MetricSpec], start, end, up_to: int | None = None,
                      joined: Mapping[int, datetime] | None = None
                      ) -> tuple[dict[int | None, dict[str, Aggregate]], dict[int | None, int]]:
    """Every metric per employee over [start, end), and each employee's quarantined items (see
    :func:`period_aggregates`).

    :return: ``({employee_id (None: unattributed): {metric: Aggregate}}, {employee_id: quarantined})``.
    """
    found = period_aggregates(session, specs, start, end, up_to, joined=joined)
    return found.metrics, found.quarantined
