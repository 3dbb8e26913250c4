"""Source clients: what reads posts from one kind of source, and which posts a source keeps.

A platform's API (Mastodon, X...) is read by a client a plugin contributes through the
``register_social_source_clients`` hook; the RSS/Atom reader (:class:`channels.social_monitoring.polling.FeedClient`)
is built in as the ``rss`` kind. ``push`` sources are not polled: they deliver to the push endpoint.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from core.plugins import PluginError, get_plugins

from .models import BUILTIN_KINDS


class SourceFailure(Exception):
    """A poll that brought nothing usable; the message is what the source's ``last_error`` shows."""


@dataclass
class PolledSource:
    """What a client sees of a source: a copy, so a slow fetch holds no database row or transaction.

    ``state`` is the client's to change: it is saved on the source when the poll succeeds, and handed back at
    the next poll.
    """

    id: int
    name: str
    kind: str
    url: str | None
    keywords: list[str]
    handles: list[str]
    state: dict[str, Any] = field(default_factory=dict)


class SourceClient:
    """Reads posts from one kind of source. Subclass it in a plugin and return the class from
    ``register_social_source_clients``."""

    #: The kind slug (snake_case) a source names, unique across plugins.
    name: ClassVar[str]
    #: How the kind is offered on the sources page.
    title: ClassVar[str]
    #: Whether a source of this kind needs an http(s) address (``source.url``).
    needs_url: ClassVar[bool] = True

    def fetch(self, source: PolledSource, since: datetime | None) -> list[Mapping[str, Any]] | None:
        """Return the source's posts newer than ``since`` (None: never polled), or None when nothing changed.

        Each post is a payload of the channel's post schema; its ``source`` is set to the source's name
        whatever the client says, and posts already stored are not stored again, so overlapping fetches are
        safe. Raise :class:`SourceFailure` (or any exception) when the platform cannot be read.
        """
        raise NotImplementedError


def source_clients(app=None) -> dict[str, SourceClient]:
    """Every client by kind: the built-in feed reader, then the plugins' clients.

    :raises PluginError: when a plugin's client takes a built-in kind.
    """
    # Polling dispatches to clients, so its module is imported late, one way round.
    from .polling import FeedClient

    plugged = get_plugins(app).social_source_clients
    taken = sorted(set(plugged) & set(BUILTIN_KINDS))
    if taken:
        raise PluginError(f"social source client kind(s) {', '.join(taken)} are built in; name the client otherwise")
    return {"rss": FeedClient(), **plugged}


def kind_titles(app=None) -> dict[str, str]:
    """Each kind a source may be, with its title, in the order the sources page offers them."""
    return {"rss": "RSS or Atom feed", "push": "Push (the platform sends posts)",
            **{kind: client.title for kind, client in source_clients(app).items() if kind != "rss"}}


def watch(posts: list[Mapping[str, Any]], keywords: list[str], handles: list[str]
          ) -> tuple[list[Mapping[str, Any]], list[int]]:
    """Split posts into those a source keeps and the indexes of those not relevant to it.

    A post is relevant when its text names a keyword, or it names or is written by a watched handle (any
    case); with no keywords and no handles every post is.
    """
    words = [k.casefold() for k in keywords if k.strip()]
    watched = {h.lstrip("@").casefold() for h in handles if h.strip()}
    if not words and not watched:
        return list(posts), []
    kept, skipped = [], []
    for index, post in enumerate(posts):
        text = str(post.get("text") or "").casefold()
        named = {str(h).lstrip("@").casefold() for h in post.get("handles") or () if isinstance(h, str)}
        author = str(post.get("author") or "").lstrip("@").casefold()
        if (any(w in text for w in words) or named & watched or author in watched
                or any(f"@{h}" in text for h in watched)):
            kept.append(post)
        else:
            skipped.append(index)
    return kept, skipped
