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

from core.plugins import get_plugins

#: How a push kind is offered on the sources page (push sources are not polled, so no client has a title).
PUSH_TITLE = "Push (the platform sends posts)"


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

    A plugin's client cannot take a built-in kind: the app refuses to start (``core.plugins``).
    """
    # Polling dispatches to clients, so its module is imported late, one way round.
    from .polling import FeedClient

    return {"rss": FeedClient(), **get_plugins(app).social_source_clients}


def kind_titles(app=None) -> dict[str, str]:
    """Each kind a source may be, with its title, in the order the sources page offers them."""
    clients = source_clients(app)
    return {"rss": clients["rss"].title, "push": PUSH_TITLE,
            **{kind: client.title for kind, client in clients.items() if kind != "rss"}}


def clean_handle(handle: str) -> str:
    """A handle as handles are compared: without its "@", in any case ("@AcmeCare" is "acmecare")."""
    return handle.strip().lstrip("@").casefold()


def mark_brand_replies(posts: list[Mapping[str, Any]], handles: list[str]) -> list[Mapping[str, Any]]:
    """The posts, those written by one of the brand's ``handles`` marked as brand replies.

    The source's handles say which accounts are the brand's, whatever a platform or a pusher says; a post by
    anyone else keeps the ``brand_reply`` it came with.
    """
    brand = {clean_handle(h) for h in handles if h.strip()}
    if not brand:
        return list(posts)
    return [{**post, "brand_reply": True} if isinstance(post.get("author"), str)
            and clean_handle(post["author"]) in brand else post for post in posts]


def watch(posts: list[Mapping[str, Any]], keywords: list[str], handles: list[str]
          ) -> tuple[list[Mapping[str, Any]], list[int]]:
    """Split posts into those a source keeps and the indexes of those not relevant to it.

    A post is relevant when its text names a keyword, or it names or is written by a watched handle (any
    case); with no keywords and no handles every post is.
    """
    words = [k.casefold() for k in keywords if k.strip()]
    watched = {clean_handle(h) for h in handles if h.strip()}
    if not words and not watched:
        return list(posts), []
    kept, skipped = [], []
    for index, post in enumerate(posts):
        text = str(post.get("text") or "").casefold()
        named = {clean_handle(h) for h in post.get("handles") or () if isinstance(h, str)}
        author = clean_handle(str(post.get("author") or ""))
        if (any(w in text for w in words) or named & watched or author in watched
                or any(f"@{h}" in text for h in watched)):
            kept.append(post)
        else:
            skipped.append(index)
    return kept, skipped
