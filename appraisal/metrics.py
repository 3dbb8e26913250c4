"""Metrics aggregated in the database: a scoring rule's points averaged per employee in one GROUP BY."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Feedback


@dataclass(frozen=True)
class MetricValue:
    """A metric over some items: their mean points, how many, and the sum of squares (for intervals)."""

    value: float | None
    n: int
    sum_of_squares: float


def metric(session: Session, rule, params: Mapping[str, Any] | None = None, *, start: datetime | None = None,
           end: datetime | None = None, by_employee: bool = True, where=()) -> dict[int | None, MetricValue]:
    """Compute ``rule`` over accepted items in [start, end), per employee (or for everyone: key None).

    One aggregate query, whatever the number of items; a parameter change needs no rescoring.

    :param params: the rule's parameters as a guideline writes them; the rule's schema loads them, so what is
        left out takes its default, as in an appraisal run.
    """
    raw = dict(params or {})
    points = rule.points(Feedback, rule.params_schema().load(raw) if rule.params_schema else raw)
    columns = [func.avg(points), func.count(points), func.coalesce(func.sum(points * points), 0.0)]
    keys = [Feedback.employee_id] if by_employee else []
    query = select(*keys, *columns).where(
        Feedback.kind.in_(rule.kinds), Feedback.status == "accepted", Feedback.value.is_not(None), *where)
    if start is not None:
        query = query.where(Feedback.occurred_at >= start)
    if end is not None:
        query = query.where(Feedback.occurred_at < end)
    if by_employee:
        query = query.group_by(Feedback.employee_id)
    results = {}
    for row in session.execute(query):
        key, (avg, n, squares) = (row[0], row[1:]) if by_employee else (None, row)
        if n:
            results[key] = MetricValue(float(avg), int(n), float(squares))
    return results
