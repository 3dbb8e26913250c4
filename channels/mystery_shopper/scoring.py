"""Scoring a mystery report (DESIGN.md, "Formulas: Mystery report").

A question earns the points of the answer given, of the most it could earn; a section's score is its points
over its maximum (pooled over its questions); the report's score is the weighted mean of the applicable
sections' scores, the weights re-normalised when a section is N/A. A failed critical question sets the report,
or its section, to 0; a bonus question adds what it earns but not to the maximum. Several reports of one
entity score the mean of the report scores, never their pooled points.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .template import visible_questions


@dataclass(frozen=True)
class QuestionScore:
    key: str
    section: str
    #: Points earned and possible; None when the question is N/A or earns no points by design (free text).
    points: float | None
    max_points: float | None
    applicable: bool
    critical_failed: bool = False


@dataclass(frozen=True)
class SectionScore:
    key: str
    title: str
    weight: float
    points: float
    max_points: float
    #: points / max points, 0-1 (a bonus can not lift it past 1); 0 when a critical failure zeroes the
    #: section; None when no question of it applied.
    score: float | None


@dataclass(frozen=True)
class ReportScore:
    #: 0-1, or None when no section applied.
    score: float | None
    sections: list[SectionScore] = field(default_factory=list)
    questions: list[QuestionScore] = field(default_factory=list)
    critical_failed: bool = False


def _choice_points(question: Mapping[str, Any], answer: Any) -> tuple[float | None, float | None, bool]:
    """Return (points, max points, applicable) for a choice question's answer."""
    choices = {c["key"]: c for c in question["choices"]}
    scoring = [c["points"] for c in question["choices"] if not c["not_applicable"] and c["points"] is not None]
    picked = answer if isinstance(answer, list) else [answer]
    picked = [choices[str(a)] for a in picked if str(a) in choices]
    if not picked or any(c["not_applicable"] for c in picked):
        return None, None, False
    if not scoring:
        return None, None, True
    if question["type"] == "multiple_choice":
        return sum(c["points"] or 0.0 for c in picked), sum(scoring), True
    return picked[0]["points"] or 0.0, max(scoring), True


def score_question(question: Mapping[str, Any], answer: Any, shown: bool = True) -> QuestionScore:
    """Score one answer; a hidden or unanswered question, or an N/A choice, is not applicable."""
    key, section = question["key"], question["section"]
    if not shown or answer is None or answer == "" or answer == []:
        return QuestionScore(key, section, None, None, False)
    if question["type"] in ("yes_no", "single_choice", "multiple_choice"):
        points, most, applicable = _choice_points(question, answer)
    elif question["type"] == "scale":
        low, high = question["scale"]["min"], question["scale"]["max"]
        try:
            value = min(max(float(answer), low), high)
        except (TypeError, ValueError):
            return QuestionScore(key, section, None, None, False)
        points, most, applicable = value - low, float(high - low), True
    else:  # number, date-time, text, photo: recorded, never scored
        return QuestionScore(key, section, None, None, True)
    if most is None or most <= 0:
        return QuestionScore(key, section, None, None, applicable)
    failed = bool(question.get("critical")) and points <= 0
    return QuestionScore(key, section, points, most, True, failed)


def score_report(document: Mapping[str, Any], answers: Mapping[str, Any], *,
                 visit_type: str | None = None) -> ReportScore:
    """Score ``answers`` against the template ``document``, question by question, section by section.

    A question hidden by skip logic, or of another visit type than ``visit_type``, is N/A.
    """
    shown = {q["key"] for q in visible_questions(document, answers, visit_type=visit_type)}
    questions = {q["key"]: q for q in document["questions"]}
    scores = [score_question(q, answers.get(q["key"]), q["key"] in shown) for q in document["questions"]]

    sections, report_zeroed = [], False
    for section in document["sections"]:
        mine = [s for s in scores if s.section == section["key"] and s.points is not None]
        earned = sum(s.points for s in mine)
        # A bonus adds what it earns, never what it could have earned.
        most = sum(s.max_points for s in mine if not questions[s.key].get("bonus"))
        failed = any(s.critical_failed for s in mine)
        zeroes_section = failed and section.get("critical_scope", "report") == "section"
        report_zeroed = report_zeroed or (failed and not zeroes_section)
        if zeroes_section:
            score = 0.0
        else:
            score = min(earned / most, 1.0) if mine and most > 0 else None
        sections.append(SectionScore(section["key"], section["title"], section["weight"], earned, most, score))

    applicable = [s for s in sections if s.score is not None]
    total_weight = sum(s.weight for s in applicable)
    if report_zeroed:
        overall = 0.0
    elif applicable and total_weight > 0:
        overall = sum(s.weight * s.score for s in applicable) / total_weight
    else:
        overall = None
    return ReportScore(overall, sections, scores, report_zeroed or any(s.critical_failed for s in scores))


def entity_score(scores: Iterable[ReportScore | float | None]) -> float | None:
    """Return the mean of several reports' scores (not their pooled points); None when none has a score."""
    values = [s.score if isinstance(s, ReportScore) else s for s in scores]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None
