"""Mystery-shopper rules: an approved report's score, or one section's score, as a percentage.

Each approved report is one ``mystery_report`` item (score x 100), so a metric's mean is the mean of report
scores (DESIGN: several reports -> the mean of their scores, not pooled points). Each applicable section is
one ``mystery_section`` item naming its section in the payload.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import case

from core.scoring import ScoringRule


class MysteryScore(ScoringRule):
    """Mean score of the approved mystery-shopper reports, 0-100."""

    name = "mystery_score"
    title = "Mystery-shopper score"
    kinds = ("mystery_report",)
    display = "percent"
    bounds = (0.0, 100.0)

    def points(self, feedback, params):
        return feedback.value


class SectionParams(Schema):
    section = fields.String(required=True, validate=validate.Length(min=1, max=100),
                            metadata={"description": "the template section's key, e.g. speed_of_service"})


class MysterySection(ScoringRule):
    """Mean score of one section over the approved reports where it applied, 0-100."""

    name = "mystery_section"
    title = "Mystery-shopper section score"
    kinds = ("mystery_section",)
    params_schema = SectionParams
    display = "percent"
    bounds = (0.0, 100.0)

    def points(self, feedback, params):
        # Other sections' items score NULL, which neither the sum nor the count of a metric includes.
        return case((feedback.payload["section"].as_string() == params["section"], feedback.value))
