"""Setting up sources: HR or an admin adds a feed or a platform's API to poll, or an account that pushes posts.

Every change is audited with the fields before and after (never a secret). An address whose host is written
as a non-public address is refused (:mod:`.addresses`; a name is checked when it is fetched). Changing a
source's address or kind forgets its client's state and failures, so it is fetched afresh at the next cron
run. A source that has stored posts keeps its name: the posts are keyed by it. A source gets a push secret of
its own when it is made a push source, replaced on demand, dropped when it stops being one; the caller shows
it once.
"""
from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Feedback, record_audit

from .addresses import allow_private_feeds, host_refusal, public_url
from .clients import kind_titles, source_clients
from .models import SocialSource

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
    _check_setter(actor)
    name = (name or "").strip().lower()
    if not _SLUG.match(name):
        raise SourceError("name", "use 1 to 100 lowercase letters, digits, '-' or '_', starting with a letter "
                                  "or digit")
    kinds = kind_titles()
    if kind not in kinds:
        raise SourceError("kind", f"choose one of {', '.join(kinds)} (a client plugin adds more)")
    url = (url or "").strip() or None
    client = source_clients().get(kind)
    if client is not None and client.needs_url:
        _check_address(url)
    elif url is not None:
        raise SourceError("url", f"a {kind} source has no address to poll: leave it empty")
    keywords = _words("keywords", keywords)
    handles = [h.lstrip("@") for h in _words("handles", handles)]

    clash = session.scalar(select(SocialSource.id).where(SocialSource.name == name))
    if clash is not None and clash != source_id:
        raise SourceError("name", f"a source named {name!r} exists already")
    if source_id is None:
        source, before = SocialSource(failures=0), None
        session.add(source)
    else:
        source = _locked_source(session, actor, source_id)
        # A stored post's id, its thread and the source's count all start with the name: renamed, they break.
        if name != source.name and has_stored_posts(session, source.name):
            raise SourceError("name", "posts are stored under this name; add a new source instead")
        before = _audited(source)
        if url != source.url or kind != source.kind:
            source.state, source.last_error, source.last_success_at = {}, None, None
            source.failures, source.next_poll_at = 0, None
    if kind != "push":
        source.push_secret = None  # no longer a push source: the old secret must not sign for it again
    elif source.push_secret is None:
        source.push_secret = new_push_secret()
    source.name, source.kind, source.url = name, kind, url
    source.keywords, source.handles, source.active = keywords, handles, bool(active)
    session.flush()
    record_audit(session, "social_source.created" if before is None else "social_source.updated", source,
                 actor=actor, before=before, after=_audited(source))
    return source


def _audited(source: SocialSource) -> dict:
    """What the audit keeps of a source: its address without the password or key it may carry (audits hold
    no secret), and a keyed fingerprint of the whole, so a changed key still shows as a change."""
    kept = {key: getattr(source, key) for key in _AUDITED}
    if source.url and public_url(source.url) != source.url:
        kept["url"] = public_url(source.url)
        key = current_app.config["SECRET_KEY"].encode()
        kept["url_fingerprint"] = hmac.new(key, source.url.encode(), "sha256").hexdigest()[:16]
    return kept


def stored_count():
    """A correlated count of the items a source has stored, to select beside ``SocialSource``.

    A post's id starts with its source's name and a colon (``channel.stored_id``). Compared as a prefix
    cut with ``substr``: exact under every collation and case-sensitive (a range such as ``name:`` to
    ``name;`` is wrong where PostgreSQL sorts by a language collation, and SQLite's LIKE ignores case). It
    reads the source's rows of the channel; the sources page is HR's and counts each source once.
    """
    return (select(func.count(Feedback.id))
            .where(*_stored_under(SocialSource.name))
            .correlate(SocialSource).scalar_subquery())


def has_stored_posts(session: Session, name: str) -> bool:
    """Whether any item is stored under source ``name``."""
    return session.scalar(select(Feedback.id).where(*_stored_under(name)).limit(1)) is not None


def _stored_under(name):
    prefix = name + ":"
    return (Feedback.channel == "social_monitoring",
            func.substr(Feedback.external_id, 1, func.length(prefix)) == prefix)


def public_error(error: str | None, url: str | None) -> str | None:
    """A source's ``last_error`` with its address, where the message echoes it, shown as :func:`public_url`."""
    if not error or not url:
        return error
    return error.replace(url, public_url(url))


def _check_address(url: str | None) -> None:
    """Refuse an address the server may not poll: not http(s), a bad port, or a host written as a private one.

    A name is resolved only when fetched (``addresses.open_public``): what it resolves to may change.
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError("url", "give the source's http:// or https:// address")
    if len(url) > 500:
        raise SourceError("url", "keep it under 500 characters")
    if any(c.isspace() or ord(c) < 32 for c in url):  # saved, it failed every poll as "control characters"
        raise SourceError("url", "an address has no spaces: write a space inside it as %20")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise SourceError("url", "give a port from 1 to 65535, or none")
    refusal = None if allow_private_feeds() else host_refusal(parts.hostname)
    if refusal:
        raise SourceError("url", f"{refusal}, which Plaudit does not poll: give the source's public address "
                                 "(an administrator can allow intranet feeds with "
                                 "PLAUDIT_SOCIAL_ALLOW_PRIVATE_FEEDS)")


def set_source_active(session: Session, actor, source_id: int, active: bool) -> SocialSource:
    """Switch source ``source_id`` off (not polled, its pushes refused) or back on, and audit it.

    Unlike :func:`save_source`, this checks no other field: a source whose client plugin is gone can still
    be switched off.

    :raises PermissionError: unless ``actor`` is HR or an admin.
    :raises LookupError: when there is no such source.
    """
    source = _locked_source(session, actor, source_id)
    before = source.active
    source.active = bool(active)
    if source.active and not before:
        source.next_poll_at = None  # back on: polled at the next cron run
    session.flush()
    record_audit(session, "social_source.updated", source, actor=actor, before={"active": before},
                 after={"active": source.active})
    return source


def new_push_secret() -> str:
    """A fresh secret for signing pushes, as the helpdesk integrations' are made."""
    return secrets.token_urlsafe(32)


def rotate_push_secret(session: Session, actor, source_id: int) -> SocialSource:
    """Give push source ``source_id`` a new secret: the old one stops working when the session commits.

    The audit says that it was replaced, never what it is; the caller shows ``push_secret`` once.

    :raises PermissionError: unless ``actor`` is HR or an admin.
    :raises LookupError: when there is no such source.
    :raises SourceError: on ``kind`` when the source is not a push source.
    """
    source = _locked_source(session, actor, source_id)
    if source.kind != "push":
        raise SourceError("kind", f"a {source.kind} source is polled: it has no push secret")
    source.push_secret = new_push_secret()
    session.flush()
    record_audit(session, "social_source.secret_rotated", source, actor=actor)
    return source


def _check_setter(actor) -> None:
    if not actor.has_role("hr", "admin"):
        raise PermissionError("only HR or an admin sets up social sources")


def _locked_source(session: Session, actor, source_id: int) -> SocialSource:
    """Source ``source_id``, locked for the change ``actor`` makes.

    :raises PermissionError: unless ``actor`` is HR or an admin.
    :raises LookupError: when there is no such source.
    """
    _check_setter(actor)
    source = session.get(SocialSource, source_id, with_for_update=True)
    if source is None:
        raise LookupError(f"no social source {source_id}")
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
