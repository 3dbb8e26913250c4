"""Which customer comments an employee may read, under the guideline's comment visibility policy.

``all``: every comment as written; ``positive_only``: comments on positive answers, redacted;
``redacted``: every comment, with what could identify the customer taken out; ``none``: no comments.
Managers and HR read comments as written: the policy protects customers and the employee's peace of mind,
not the appraisal.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session

from core.models import Feedback

# Order matters: links and addresses before the digit runs inside them.
_PATTERNS = [
    (re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE), "[link]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[e-mail]"),
    (re.compile(r"(?<![\w@])@\w{2,30}"), "[handle]"),
    (re.compile(r"(?:\+|\b)\d(?:[\s().-]*\d){6,}\b"), "[number]"),
]


def redact(text: str) -> str:
    """Take links, e-mail addresses, social handles and long numbers (phones, cards, orders) out of ``text``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


#: A sentiment (-1 to 1) this close to 0 is neutral: VADER's own convention for its compound score.
NEUTRAL_BAND = 0.05


def positive(feedback=Feedback):
    """SQL: the item is a positive answer (top box of its scale, an NPS promoter, a positive sentiment)."""
    positions = feedback.scale_max - feedback.scale_min + 1
    top = case((positions <= 3, 0), (positions >= 10, 2), else_=1)
    return case(
        (feedback.kind == "nps", feedback.value >= 9),
        (feedback.scale_max.is_(None), feedback.value > 0),
        # A signed scale is a sentiment: positive above its neutral band, not only at the very top.
        (feedback.scale_min < 0, feedback.value >= NEUTRAL_BAND),
        else_=feedback.value >= feedback.scale_max - top)


def shown_comment(comment: str | None, is_positive: bool, policy: str) -> str | None:
    """The comment as the policy lets its employee read it, or None when it is hidden."""
    if not comment or policy == "none" or (policy == "positive_only" and not is_positive):
        return None
    return comment if policy == "all" else redact(comment)


def employee_comments(session: Session, employee_id: int, start: datetime, end: datetime, policy: str,
                      limit: int = 200) -> list[dict[str, Any]]:
    """The comments on an employee's accepted items in [start, end), newest first, as the policy shows them.

    Positive answers are marked, so a report can put praise beside what to work on. One query.
    """
    if policy == "none":
        return []
    is_positive = positive().label("positive")
    query = (select(Feedback.id, Feedback.occurred_at, Feedback.kind, Feedback.value, Feedback.scale_min,
                    Feedback.scale_max, Feedback.comment, is_positive)
             .where(Feedback.employee_id == employee_id, Feedback.status == "accepted",
                    Feedback.comment.is_not(None), Feedback.comment != "",
                    # Only answers on a scale hold a customer's words: a reply time's text is the agent's own.
                    Feedback.scale_max.is_not(None),
                    Feedback.occurred_at >= start, Feedback.occurred_at < end)
             .order_by(Feedback.occurred_at.desc(), Feedback.id.desc()).limit(limit))
    if policy == "positive_only":
        query = query.where(and_(positive()))
    return [{"id": row.id, "occurred_at": row.occurred_at, "kind": row.kind, "value": row.value,
             "scale_min": row.scale_min, "scale_max": row.scale_max,
             "positive": bool(row.positive), "comment": shown_comment(row.comment, bool(row.positive), policy)}
            for row in session.execute(query)]
