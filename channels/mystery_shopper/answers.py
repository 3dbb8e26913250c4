"""Checking a shopper's answers against their template: a message per question, in the shopper's words.

A draft may be incomplete but never wrong in kind (a letter where a number goes); a submitted report must
answer every required question the skip logic shows, of the assignment's visit type. Answers to hidden
questions, and to questions of another visit type, are dropped: they are N/A.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .template import visible_questions

#: The longest free-text answer kept.
TEXT_LIMIT = 5000
#: The largest number answer kept: beyond it a float loses whole numbers, and 10**400 is no float at all.
#: Compared as ``abs(value) <= NUMBER_LIMIT``, which also refuses NaN and infinity without math.isfinite's
#: OverflowError on huge integers.
NUMBER_LIMIT = 10**15
CHOICE_TYPES = ("yes_no", "single_choice")
NUMBER_TYPES = ("scale", "number")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def answer_problems(document: dict, answers: dict, *, final: bool, visit_type: str | None = None) -> dict[str, str]:
    """Check ``answers`` against the questions of ``document`` the skip logic shows on a ``visit_type`` visit.

    :param final: True on submission (every required question shown must be answered); False for a
        draft, where only answers of the wrong kind are problems.
    :return: {question key: message}, empty when all is well.
    """
    known = {question["key"] for question in document["questions"]}
    problems = {key: "this is not a question of the report's template" for key in answers if key not in known}
    for question in visible_questions(document, answers, visit_type=visit_type):
        value = answers.get(question["key"])
        if is_empty(value):
            if final and question.get("required", True):
                problems[question["key"]] = _missing(question)
            continue
        message = _wrong_kind(question, value)
        if message:
            problems[question["key"]] = message
    return problems


def shown_answers(document: dict, answers: dict, *, visit_type: str | None = None) -> dict:
    """The answers to the questions shown, without empty ones: what is stored (hidden questions are N/A)."""
    shown = {question["key"] for question in visible_questions(document, answers, visit_type=visit_type)}
    return {key: value for key, value in answers.items() if key in shown and not is_empty(value)}


def _missing(question: dict) -> str:
    if question["type"] in CHOICE_TYPES + ("multiple_choice",):
        return "choose an answer"
    if question["type"] == "photo":
        return "attach the photo this question asks for"
    return "answer this question"


def _wrong_kind(question: dict, value: Any) -> str | None:
    kind = question["type"]
    choices = {choice["key"]: choice for choice in question.get("choices") or ()}
    if kind in CHOICE_TYPES:
        if not isinstance(value, str) or value not in choices:
            return f"choose one of: {', '.join(c['label'] for c in choices.values())}"
    elif kind == "multiple_choice":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or any(not isinstance(v, str) or v not in choices for v in value):
            return f"choose among: {', '.join(c['label'] for c in choices.values())}"
        if len(set(value)) != len(value):
            return "choose each answer once"
        if len(value) > 1 and any(choices[v].get("not_applicable") for v in value):
            return "a 'not applicable' answer cannot be chosen with others"
    elif kind in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) <= NUMBER_LIMIT:
            return "give a number"
        if kind == "scale":
            scale = question.get("scale") or {}
            low, high = scale.get("min", 1), scale.get("max", 5)
            if not low <= value <= high or value != int(value):
                return f"choose a whole number from {low} to {high}"
    elif kind == "datetime":
        if not isinstance(value, str) or _datetime(value) is None:
            return "give a date and time, e.g. 2026-11-03 14:30"
    elif kind == "text":
        if not isinstance(value, str):
            return "write text"
        if len(value) > TEXT_LIMIT:
            return f"keep it under {TEXT_LIMIT:,} characters"
    elif kind == "photo" and not isinstance(value, str):
        return "attach a photo"
    return None


def _datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None
