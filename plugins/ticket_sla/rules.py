"""SLA attainment: the share of solved tickets first answered, or resolved, within a target time."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import case

from core.scoring import ScoringRule


class FirstResponseParams(Schema):
    target_minutes = fields.Float(load_default=60, validate=validate.Range(min=0))


class ResolutionParams(Schema):
    target_minutes = fields.Float(load_default=24 * 60, validate=validate.Range(min=0))


class FirstResponseSla(ScoringRule):
    """% of tickets whose first response came within ``target_minutes`` of opening."""

    name = "first_response_sla"
    title = "First-response SLA"
    kinds = ("first_response_time",)
    params_schema = FirstResponseParams
    display = "percent"
    proportion = True

    def points(self, feedback, params):
        return case((feedback.value <= params.get("target_minutes", 60), 100.0), else_=0.0)


class ResolutionSla(ScoringRule):
    """% of tickets resolved within ``target_minutes`` of opening."""

    name = "resolution_sla"
    title = "Resolution SLA"
    kinds = ("resolution_time",)
    params_schema = ResolutionParams
    display = "percent"
    proportion = True

    def points(self, feedback, params):
        return case((feedback.value <= params.get("target_minutes", 24 * 60), 100.0), else_=0.0)
