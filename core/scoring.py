"""The scoring-rule contract: a declarative rule that scores feedback items in SQL."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import Schema
from sqlalchemy.sql import ColumnElement


class ScoringRule:
    """Base class for a scoring rule plugin.

    A rule reads feedback of some ``kinds`` and says, as a SQL expression over the ``feedback`` table's
    columns, how many points one item earns. A metric is then AVG/COUNT of those points in one GROUP BY,
    and changing a parameter needs no rescoring.
    """

    #: Slug, unique across plugins.
    name: ClassVar[str]
    title: ClassVar[str]
    #: The feedback kinds this rule reads.
    kinds: ClassVar[tuple[str, ...]] = ()
    #: marshmallow schema for the rule's parameters (as written in an HR guideline).
    params_schema: ClassVar[type[Schema] | None] = None
    #: ``higher`` when more points are better, ``lower`` otherwise (a response time, say).
    direction: ClassVar[str] = "higher"
    #: How a metric value is shown: ``percent``, ``score`` (with sign, as NPS) or ``number``.
    display: ClassVar[str] = "number"
    #: True when points are 0/100 per item, so a Wilson interval applies to the metric.
    proportion: ClassVar[bool] = False
    #: The lowest and highest value the metric can take; the composite maps them to 0 and 100. None when
    #: unbounded (a duration): the guideline must then give bounds itself.
    bounds: ClassVar[tuple[float, float] | None] = None
    #: Without ``bounds``, the lowest value the metric can take, if it has one (0 for a duration); a target
    #: below it is refused.
    floor: ClassVar[float | None] = None

    def value_bounds(self, params: Mapping[str, Any]) -> tuple[float, float] | None:
        """Return :attr:`bounds` for these parameters (override when a parameter changes the scale)."""
        return self.bounds

    def is_proportion(self, params: Mapping[str, Any]) -> bool:
        """Return :attr:`proportion` for these parameters (override when a parameter makes the metric a share)."""
        return self.proportion

    def interval(self, params: Mapping[str, Any], n: int, total: float, squares: float,
                 confidence: float) -> tuple[float, float] | None:
        """The metric's confidence interval from its items' count, sum of points and sum of squared points;
        None (the default) for the appraisal's own: Wilson's for a proportion, Student's t for a mean."""
        return None

    def display_for(self, params: Mapping[str, Any]) -> str:
        """Return :attr:`display` for these parameters (override when a parameter changes what the value is)."""
        return self.display

    def points(self, feedback, params: Mapping[str, Any]) -> ColumnElement:
        """Return the SQL expression for one item's points; ``feedback`` is the Feedback model or an alias."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<ScoringRule {self.name}>"
