"""Social rules: the mean sentiment of posts credited to an employee, and the mean minutes of their replies.

A ``social_mention`` item's value is its sentiment, -1 (negative) to 1 (positive); a ``social_reply`` item's
value is the minutes from the customer's post it answers (NULL when that post was never stored, which no
metric counts). Both are means: a metric is SUM/COUNT of points in one GROUP BY, with its interval from the
sum of squares and shrinkage toward the team's mean, which a median could not give.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import case

from core.scoring import ScoringRule


class SocialSentiment(ScoringRule):
    """Mean sentiment of customers' posts credited to the employee, from -100 (all negative) to +100."""

    name = "social_sentiment"
    title = "Social sentiment"
    kinds = ("social_mention",)
    # Shown as NPS is, with a sign: 0 is as many warm words as cold ones.
    display = "score"
    bounds = (-100.0, 100.0)

    def points(self, feedback, params):
        return feedback.value * 100.0


class ReplyTimeParams(Schema):
    cap_minutes = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=1),
                               metadata={"description": "count a reply slower than this as this slow, so one "
                                                        "overnight wait does not outweigh a day of quick answers; "
                                                        "with it, the rule's bounds are 0 to the cap"})


class SocialReplyTime(ScoringRule):
    """Mean minutes from a customer's post to the employee's signed reply; lower is better."""

    name = "social_reply_time"
    title = "Social reply time (minutes)"
    kinds = ("social_reply",)
    params_schema = ReplyTimeParams
    direction = "lower"
    display = "number"
    bounds = None  # a duration: the guideline gives bounds, or a cap sets them
    floor = 0.0

    def value_bounds(self, params):
        cap = params.get("cap_minutes")
        return (0.0, cap) if cap else None

    def points(self, feedback, params):
        cap = params.get("cap_minutes")
        if cap is None:
            return feedback.value
        return case((feedback.value > cap, cap), else_=feedback.value)
