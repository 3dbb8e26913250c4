"""Report templates: the questionnaire document, its validation, versioned publishing and skip logic.

A template is published as a new version and never changes afterwards, so a report is always read against the
questions its shopper saw. Errors name the field (``questions.12.choices.0.points``) and nothing is written.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import record_audit

from .models import ReportTemplate

QUESTION_TYPES = ("yes_no", "scale", "single_choice", "multiple_choice", "number", "datetime", "text", "photo")
#: Types whose answer is one or more of the question's choices.
CHOICE_TYPES = ("yes_no", "single_choice", "multiple_choice")
CRITICAL_SCOPES = ("report", "section")
KEY = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}$",
                      error="use 1 to 50 letters, digits, '.', '_' or '-', starting with a letter or digit")


class SectionSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title_ar = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    weight = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    critical_scope = fields.String(load_default="report", validate=validate.OneOf(CRITICAL_SCOPES),
                                   metadata={"description": "what a failed critical question sets to 0"})


class ChoiceSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    label = fields.String(required=True, validate=validate.Length(min=1))
    label_ar = fields.String(load_default=None, allow_none=True)
    points = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(min=0),
                          metadata={"description": "none: the choice scores nothing"})
    not_applicable = fields.Boolean(load_default=False,
                                    metadata={"description": "answering it makes the question N/A"})


class ScaleSchema(Schema):
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)

    @validates_schema
    def _ordered(self, data, **_):
        if data["min"] >= data["max"]:
            raise ValidationError("must be greater than min", "max")


class ShowIfSchema(Schema):
    question = fields.String(required=True)
    answers = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class QuestionSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    section = fields.String(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1))
    text_ar = fields.String(load_default=None, allow_none=True)
    help = fields.String(load_default=None, allow_none=True)
    type = fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    choices = fields.List(fields.Nested(ChoiceSchema), load_default=list)
    scale = fields.Nested(ScaleSchema, load_default=None, allow_none=True)
    critical = fields.Boolean(load_default=False)
    bonus = fields.Boolean(load_default=False)
    required = fields.Boolean(load_default=True)
    show_if = fields.Nested(ShowIfSchema, load_default=None, allow_none=True)
    visit_types = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list)

    @validates_schema
    def _consistent(self, data, **_):
        kind, choices = data["type"], data.get("choices") or []
        if kind in CHOICE_TYPES and not choices:
            raise ValidationError(f"a {kind} question needs choices", "choices")
        if kind not in CHOICE_TYPES and choices:
            raise ValidationError(f"a {kind} question has no choices", "choices")
        keys = [c["key"] for c in choices]
        if len(keys) != len(set(keys)):
            raise ValidationError("choice keys must be unique", "choices")
        if kind == "scale" and data.get("scale") is None:
            raise ValidationError("a scale question needs its min and max", "scale")
        if kind != "scale" and data.get("scale") is not None:
            raise ValidationError("only a scale question has a scale", "scale")
        if data.get("critical") and data.get("bonus"):
            raise ValidationError("a question is critical or bonus, not both", "bonus")
        if data.get("critical") and not data.get("required", True):
            # An unanswered critical question would let a failed visit pass: a shopper could just skip it.
            raise ValidationError("a critical question must be required", "required")
        if (data.get("critical") or data.get("bonus")) and not _scored(data):
            flag = "critical" if data.get("critical") else "bonus"
            raise ValidationError(f"a {flag} question must be able to earn points", flag)


class TemplateSchema(Schema):
    sections = fields.List(fields.Nested(SectionSchema), required=True, validate=validate.Length(min=1))
    questions = fields.List(fields.Nested(QuestionSchema), required=True, validate=validate.Length(min=1))


def _scored(question: Mapping[str, Any]) -> bool:
    """True when the question can earn points: a scale, or a choice worth more than nothing."""
    if question["type"] == "scale":
        return True
    return any((c.get("points") or 0) > 0 for c in question.get("choices") or [] if not c.get("not_applicable"))


def validate_template(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return the template document validated and completed with defaults.

    :raises marshmallow.ValidationError: with messages keyed by field, e.g. ``sections.2.weight`` or
        ``questions.5.show_if.question``.
    """
    data = TemplateSchema().load(document)
    errors: dict[str, Any] = {}

    def error(path: tuple, message: str) -> None:
        node = errors
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(path[-1], []).append(message)

    sections = [s["key"] for s in data["sections"]]
    for index, key in enumerate(sections):
        if sections.index(key) != index:
            error(("sections", index, "key"), f"{key!r} is used by an earlier section")
    questions = {}
    for index, question in enumerate(data["questions"]):
        if question["key"] in questions:
            error(("questions", index, "key"), f"{question['key']!r} is used by an earlier question")
        questions.setdefault(question["key"], question)
        if question["section"] not in sections:
            error(("questions", index, "section"), f"no section {question['section']!r}")
    for index, question in enumerate(data["questions"]):
        rule = question["show_if"]
        if rule is None:
            continue
        target = questions.get(rule["question"])
        if target is None or rule["question"] == question["key"]:
            error(("questions", index, "show_if", "question"), f"{rule['question']!r} is not another question")
        elif target["type"] not in CHOICE_TYPES:
            error(("questions", index, "show_if", "question"), f"{rule['question']!r} has no choices to test")
        else:
            known = {c["key"] for c in target["choices"]}
            unknown = [a for a in rule["answers"] if a not in known]
            if unknown:
                error(("questions", index, "show_if", "answers"),
                      f"{', '.join(unknown)} not among {rule['question']}'s choices ({', '.join(sorted(known))})")
    if not errors:
        for index, question in enumerate(data["questions"]):
            if _in_cycle(question["key"], questions):
                error(("questions", index, "show_if"), "skip logic goes round in a circle")
    if errors:
        raise ValidationError(errors)
    return data


def _in_cycle(key: str, questions: Mapping[str, Mapping]) -> bool:
    seen, current = set(), questions[key]
    while current["show_if"] is not None:
        if current["key"] in seen:
            return True
        seen.add(current["key"])
        current = questions[current["show_if"]["question"]]
    return False


def visit_types_of(document: Mapping[str, Any]) -> list[str]:
    """The visit types the template's questions name (e.g. enquiry, transaction), sorted; an assignment is one."""
    return sorted({t for q in document["questions"] for t in q.get("visit_types") or ()})


def applies_to_visit(question: Mapping[str, Any], visit_type: str | None) -> bool:
    """True when ``question`` is asked on a visit of ``visit_type``: one naming no types is asked on every
    visit, and a visit of no type (None) is asked every question."""
    types = question.get("visit_types") or ()
    return visit_type is None or not types or visit_type in types


def visible_questions(document: Mapping[str, Any], answers: Mapping[str, Any], *,
                      visit_type: str | None = None) -> list[dict]:
    """Return the questions the shopper is shown given ``answers``, in the template's order.

    A question with ``show_if`` is shown when the question it names is itself shown and was answered with one
    of the listed choices (one of them, for a multiple choice). A question of another visit type than
    ``visit_type`` is not shown, nor any question whose ``show_if`` depends on it. Hidden questions are N/A,
    whatever was answered.
    """
    questions = {q["key"]: q for q in document["questions"]}
    shown: dict[str, bool] = {}

    def is_shown(key: str) -> bool:
        if key not in shown:
            rule = questions[key].get("show_if")
            if not applies_to_visit(questions[key], visit_type):
                shown[key] = False
            elif rule is None:
                shown[key] = True
            else:
                shown[key] = False  # guards a cycle in an unvalidated document
                answer = answers.get(rule["question"])
                given = answer if isinstance(answer, list) else [answer]
                shown[key] = is_shown(rule["question"]) and any(str(a) in rule["answers"] for a in given
                                                                if a is not None)
        return shown[key]

    return [q for q in document["questions"] if is_shown(q["key"])]


def questions_for_visit(document: Mapping[str, Any], visit_type: str | None) -> list[dict]:
    """The questions a visit of ``visit_type`` may be asked, whatever the answers: the form lays these out.

    Leaves out the questions of other visit types and those whose ``show_if`` chain passes through one (they
    can never be shown on such a visit).
    """
    questions = {q["key"]: q for q in document["questions"]}
    possible: dict[str, bool] = {}

    def is_possible(key: str) -> bool:
        if key not in possible:
            possible[key] = False  # guards a cycle in an unvalidated document
            rule = questions[key].get("show_if")
            possible[key] = applies_to_visit(questions[key], visit_type) and (
                rule is None or (rule["question"] in questions and is_possible(rule["question"])))
        return possible[key]

    return [q for q in document["questions"] if is_possible(q["key"])]


def document_for_visit(document: Mapping[str, Any], visit_type: str | None) -> dict:
    """``document`` with only the questions a visit of ``visit_type`` may be asked (all of them for None)."""
    return {**document, "questions": questions_for_visit(document, visit_type)}


def publish_template(session: Session, slug: str, title: str, document: Mapping[str, Any], *, actor,
                     note: str | None = None) -> ReportTemplate:
    """Validate ``document`` and publish it as the next version of template ``slug``, audited.

    :raises marshmallow.ValidationError: naming each wrong field (``slug``, ``title`` or the document's);
        nothing is written then.
    """
    problems = {}
    try:
        KEY(slug if isinstance(slug, str) else "")
    except ValidationError as exc:
        problems["slug"] = exc.messages
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        problems["title"] = ["give a title of 1 to 200 characters"]
    try:
        data = validate_template(document)
    except ValidationError as exc:
        problems.update(exc.messages if isinstance(exc.messages, dict) else {"document": exc.messages})
    if problems:
        raise ValidationError(problems)
    # Versions are taken under a lock of the latest row, so two publishers get consecutive numbers.
    latest = session.scalar(select(ReportTemplate).where(ReportTemplate.slug == slug)
                            .order_by(ReportTemplate.version.desc()).limit(1).with_for_update())
    template = ReportTemplate(slug=slug, version=(latest.version if latest else 0) + 1, title=title.strip(),
                              document=data, note=note, created_by=getattr(actor, "id", actor))
    session.add(template)
    session.flush()
    record_audit(session, "mystery_template.published", template, actor=actor,
                 before={"version": latest.version} if latest else None,
                 after={"slug": slug, "version": template.version, "title": template.title,
                        "sections": len(data["sections"]), "questions": len(data["questions"])}, note=note)
    return template


def template_in_force(session: Session, slug: str) -> ReportTemplate | None:
    """The latest version of template ``slug``, or None when none is published."""
    return session.scalar(select(ReportTemplate).where(ReportTemplate.slug == slug)
                          .order_by(ReportTemplate.version.desc()).limit(1))
