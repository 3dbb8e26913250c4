"""Setting up sources: HR or an admin adds a feed to poll or an account that pushes posts, or changes one.

Every change is audited with the fields before and after. Changing a feed's address forgets its validators
and failures, so the new address is fetched in full at the next cron run.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import record_audit

from .models import SOURCE_KINDS, SocialSource

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_AUDITED = ("name", "kind", "url", "keywords", "handles", "active")


class SourceError(ValueError):
    """A source's field is missing or wrong: ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def save_source(session: Session, actor, *, name: str, kind: str, url: str | None = None,
                keywords: list[str] | None = None, handles: list[str] | None = None, active: bool = True,
                source_id: int | None = None) -> SocialSource:
    """Create a source, or update source ``source_id``, and audit it.

    :raises PermissionError: unless ``actor`` is HR or an admin.
    :raises SourceError: naming the first wrong field.
    :raises LookupError: when ``source_id`` names no source.
    """
    if not actor.has_role("hr", "admin"):
        raise PermissionError("only HR or an admin sets up social sources")
    name = (name or "").strip().lower()
    if not _SLUG.match(name):
        raise SourceError("name", "use 1 to 100 lowercase letters, digits, '-' or '_', starting with a letter "
                                  "or digit")
    if kind not in SOURCE_KINDS:
        raise SourceError("kind", f"choose one of {', '.join(SOURCE_KINDS)}")
    url = (url or "").strip() or None
    if kind == "rss":
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SourceError("url", "give the feed's http:// or https:// address")
        if len(url) > 500:
            raise SourceError("url", "keep it under 500 characters")
    elif url is not None:
        raise SourceError("url", "a push source has no address to poll: leave it empty")
    keywords = _words("keywords", keywords)
    handles = [h.lstrip("@") for h in _words("handles", handles)]

    clash = session.scalar(select(SocialSource.id).where(SocialSource.name == name))
    if clash is not None and clash != source_id:
        raise SourceError("name", f"a source named {name!r} exists already")
    if source_id is None:
        source, before = SocialSource(failures=0), None
        session.add(source)
    else:
        source = session.get(SocialSource, source_id, with_for_update=True)
        if source is None:
            raise LookupError(f"no social source {source_id}")
        before = {key: getattr(source, key) for key in _AUDITED}
        if url != source.url:
            source.etag = source.last_modified = source.last_error = None
            source.failures, source.next_poll_at = 0, None
    source.name, source.kind, source.url = name, kind, url
    source.keywords, source.handles, source.active = keywords, handles, bool(active)
    session.flush()
    record_audit(session, "social_source.created" if before is None else "social_source.updated", source,
                 actor=actor, before=before, after={key: getattr(source, key) for key in _AUDITED})
    return source


def _words(field: str, values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise SourceError(field, "give a list of words")
    words = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if any(len(w) > 100 for w in words) or len(words) > 100:
        raise SourceError(field, "give at most 100, each under 100 characters")
    return words
