"""SLA attainment: the share of solved tickets first answered, or resolved, within a target time."""
from __future__ import annotations

from typing import ClassVar

from marshmallow import Schema, fields, validate
from sqlalchemy import case

from core.scoring import ScoringRule


def _target_schema(default_minutes: float) -> type[Schema]:
    return Schema.from_dict({"target_minutes": fields.Float(load_default=default_minutes,
                                                            validate=validate.Range(min=0))})


class WithinTarget(ScoringRule):
    """100 points for an item whose minutes are within ``target_minutes``, else 0: a share, in percent."""

    default_target: ClassVar[float]
    display = "percent"
    proportion = True
    bounds = (0.0, 100.0)

    def points(self, feedback, params):
        return case((feedback.value <= params.get("target_minutes", self.default_target), 100.0), else_=0.0)


class FirstResponseSla(WithinTarget):
    """% of tickets whose first response came within ``target_minutes`` of opening (default an hour)."""

    name = "first_response_sla"
    title = "First-response SLA"
    kinds = ("first_response_time",)
    default_target = 60
    params_schema = _target_schema(default_target)


class ResolutionSla(WithinTarget):
    """% of tickets resolved within ``target_minutes`` of opening (default a day)."""

    name = "resolution_sla"
    title = "Resolution SLA"
    kinds = ("resolution_time",)
    default_target = 24 * 60
    params_schema = _target_schema(default_target)
