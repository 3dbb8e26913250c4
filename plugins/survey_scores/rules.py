"""CSAT, NPS and CES as declarative scoring rules: each item's points are one SQL expression.

Every item carries its own scale (``scale_min``..``scale_max``), so answers on 1-5, 1-7 and 1-10 scales,
Zendesk's good/bad and Help Scout's three faces all score under one rule.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import and_, case

from appraisal.formulas import nps_interval
from core.scoring import ScoringRule


def _positions(feedback):
    return feedback.scale_max - feedback.scale_min + 1


def satisfied(feedback, top_box: int | None = None):
    """True when an answer is in the top box of its scale.

    By default the box is the top two answers (4-5 on 1-5, 6-7 on 1-7) and the top three on ten or more
    points (8-10 on 1-10); ``top_box`` sets it for every scale. On three points or fewer (good/bad, three
    faces) only the top answer is satisfied: a top-2 box of a two-point scale would count every answer.
    """
    positions = _positions(feedback)
    if top_box is None:
        box = case((positions <= 3, 1), (positions >= 10, 3), else_=2)
    else:
        box = case((positions <= 3, 1), else_=top_box)
    return feedback.value >= feedback.scale_max - box + 1


def rescaled(feedback, low: float, high: float):
    """The answer moved linearly onto ``low``..``high``, so means over mixed scales compare."""
    span = feedback.scale_max - feedback.scale_min
    return low + (high - low) * (feedback.value - feedback.scale_min) / case((span == 0, 1), else_=span)


class CsatParams(Schema):
    top_box = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=5),
                             metadata={"description": "how many top answers count as satisfied; default 2, "
                                                      "3 on scales of ten or more points"})


class CsatPercent(ScoringRule):
    """CSAT%: satisfied answers / all answers x 100 (Kundo's example: 41 of 50 -> 82%)."""

    name = "csat_percent"
    title = "CSAT %"
    kinds = ("csat",)
    params_schema = CsatParams
    display = "percent"
    proportion = True
    bounds = (0.0, 100.0)

    def points(self, feedback, params):
        return case((satisfied(feedback, params.get("top_box")), 100.0), else_=0.0)


class CsatMean(ScoringRule):
    """Mean CSAT rating, on a 1-5 scale whatever scale it was asked on."""

    name = "csat_mean"
    title = "CSAT mean rating"
    kinds = ("csat",)
    display = "number"
    bounds = (1.0, 5.0)

    def points(self, feedback, params):
        return rescaled(feedback, 1.0, 5.0)


class Nps(ScoringRule):
    """NPS: % promoters (9-10) - % detractors (0-6), from -100 to +100."""

    name = "nps"
    title = "NPS"
    kinds = ("nps",)
    display = "score"
    bounds = (-100.0, 100.0)

    def points(self, feedback, params):
        return case((feedback.value >= 9, 100.0), (feedback.value <= 6, -100.0), else_=0.0)

    def interval(self, params, n, total, squares, confidence):
        """Adjusted Wald interval for a net score (Rocks, 2016)."""
        # Points are +100, 0 or -100: their sum and sum of squares give the promoters and detractors back.
        net, answered = total / 100, squares / 10_000
        return nps_interval((answered + net) / 2, (answered - net) / 2, n, confidence)


class CesParams(Schema):
    mode = fields.String(load_default="mean", validate=validate.OneOf(["mean", "top_box"]),
                         metadata={"description": "mean effort on 1-7, or the share of the easiest two answers"})


class Ces(ScoringRule):
    """Customer effort: the mean on a 1-7 scale (7 = easiest), or the top-2-box share."""

    name = "ces"
    title = "Customer effort"
    kinds = ("ces",)
    params_schema = CesParams
    display = "number"
    bounds = (1.0, 7.0)

    def value_bounds(self, params):
        return (0.0, 100.0) if params.get("mode") == "top_box" else self.bounds

    # In top_box mode each answer earns 0 or 100: a share, with a Wilson interval, shown as a percentage.
    def is_proportion(self, params):
        return params.get("mode") == "top_box"

    def display_for(self, params):
        return "percent" if params.get("mode") == "top_box" else self.display

    def points(self, feedback, params):
        if params.get("mode", "mean") == "top_box":
            return case((and_(feedback.value.is_not(None), satisfied(feedback)), 100.0), else_=0.0)
        return rescaled(feedback, 1.0, 7.0)
