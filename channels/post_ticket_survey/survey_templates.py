"""Survey templates: versioned, so an invitation keeps the wording it was sent with."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import SurveyTemplate
from .schemas import SurveyTemplateSchema

DEFAULT = {
    "slug": "default", "title": "How did we do?",
    "intro": "You recently contacted our support team. Two quick questions:",
    "questions": [{"key": "csat", "kind": "csat", "scale": [1, 5],
                   "wording": "How satisfied are you with the help you received?",
                   "low_label": "Very unsatisfied", "high_label": "Very satisfied"}],
    "comment_prompt": "Anything you would like to tell us? (optional)",
}


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
    if template is None and slug == "default":
        template = save_version(session, DEFAULT)
    if template is None:
        raise LookupError(f"no survey template {slug!r}")
    return template
