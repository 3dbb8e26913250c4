"""Survey templates: versioned, so an invitation keeps the wording it was sent with."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import SurveyTemplate
from .schemas import SurveyTemplateSchema

DEFAULT = {
    "slug": "default", "title": "How did we do?",
    # The invitation e-mail opens with the ticket ("You recently contacted us about ...") and counts the
    # questions itself: the intro says neither, so it reads right on the page and in the e-mail alike.
    "intro": "Your answer helps us improve our support.",
    "questions": [{"key": "csat", "kind": "csat", "scale": [1, 5],
                   "wording": "How satisfied are you with the help you received?",
                   "low_label": "Very unsatisfied", "high_label": "Very satisfied"}],
    "comment_prompt": "Anything you would like to tell us? (optional)",
}
#: The built-in default as first shipped: its intro repeated the e-mail's opening and promised two questions
#: where it asks one. A stored default still so worded gets the current one as its next version on its next
#: use, and invitations made with it are shown without that intro.
FIRST_DEFAULT = {**DEFAULT, "intro": "You recently contacted our support team. Two quick questions:"}

_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def is_first_default(template: SurveyTemplate) -> bool:
    """Whether ``template`` is the built-in default as first shipped, unedited."""
    first = SurveyTemplateSchema().load(FIRST_DEFAULT)
    return template.slug == "default" and all(getattr(template, name) == first[name]
                                              for name in ("title", "intro", "questions", "comment_prompt"))


def intro(template: SurveyTemplate) -> str | None:
    """The intro to show with ``template`` (none for the first built-in default's, which was wrong)."""
    return None if is_first_default(template) else template.intro


def survey_size(template: SurveyTemplate) -> str:
    """What the survey asks, for the invitation: "One question, and room for a comment", "Three questions"."""
    count = len(template.questions)
    size = f"{_NUMBERS[count - 1] if count <= len(_NUMBERS) else count} question{'s' if count != 1 else ''}"
    size += ", and room for a comment" if template.comment_prompt else ""
    return size[0].upper() + size[1:]


def save_version(session: Session, document: Mapping) -> SurveyTemplate:
    """Validate ``document`` and store it as the next version of its slug.

    :raises marshmallow.ValidationError: naming the field at fault.
    """
    data = SurveyTemplateSchema().load(document)
    latest = session.scalar(select(func.max(SurveyTemplate.version)).where(SurveyTemplate.slug == data["slug"]))
    template = SurveyTemplate(version=(latest or 0) + 1, **data)
    session.add(template)
    session.flush()
    return template


def current(session: Session, slug: str) -> SurveyTemplate:
    """The latest version of ``slug``; the built-in default is created on first use."""
    template = session.scalar(select(SurveyTemplate).where(SurveyTemplate.slug == slug)
                              .order_by(SurveyTemplate.version.desc()).limit(1))
    if slug == "default" and (template is None or is_first_default(template)):
        template = save_version(session, DEFAULT)
    if template is None:
        raise LookupError(f"no survey template {slug!r}")
    return template
