"""Polling sources: hand each due source to the client of its kind, keep the posts it watches, store them once.

``plaudit cron`` runs :func:`poll_due_sources` every five minutes; it hands each due source to a job of its
own (:func:`poll_source`), so one slow or broken source never holds up the others. Feeds (``rss``) are read
here by :class:`FeedClient` with a conditional GET, from public addresses only (:mod:`.addresses`); other
kinds by the client a plugin registers (:mod:`.clients`). A source that fails (an HTTP error, a timeout, an
address that is not public, a document that is not a feed, a client that raises) is recorded on the source and polled again after a wait that doubles with each failure in a row; a
success resets it. Posts already stored are answered as duplicates by the ingestion, so polling a source
twice stores each post once.
"""
from __future__ import annotations

import base64
import calendar
import hashlib
import html
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from core import jobs
from core.db import transaction
from core.models import utcnow

from .addresses import FetchRefused, open_public, public_url
from .clients import (
    PolledSource,
    SourceClient,
    SourceFailure,
    clean_handle,
    mark_brand_replies,
    source_clients,
    watch,
)
from .handles import handles_in
from .models import SocialSource
from .store import store_posts

log = logging.getLogger(__name__)

CHANNEL = "social_monitoring"
#: How often a healthy source is polled (the cron entry's interval).
POLL_INTERVAL = timedelta(minutes=5)
#: A source due this little after a cron run counts as due at it: the poll sets its next time when it ends, a
#: moment after the run that enqueued it, so the next run, one interval later, found it just short of due and
#: it waited a whole interval more (polled every 10 minutes, not 5).
DUE_SLACK = timedelta(seconds=30)
#: The longest a failing source waits between polls.
MAX_BACKOFF = timedelta(hours=6)
#: How long a fetch may take before it counts as a failure.
FETCH_TIMEOUT = 20
#: The most of a feed read; a larger document is refused rather than held in memory.
MAX_FEED_BYTES = 5 * 1024 * 1024
USER_AGENT = "Plaudit social monitoring (+https://plaudit.example/docs/social)"

_TAG = re.compile(r"<[^>]+>")


class FeedError(SourceFailure):
    """A poll that brought no usable feed; the message is what the source's ``last_error`` shows."""


@dataclass
class Fetched:
    """What one conditional GET brought: a body, or nothing new (HTTP 304), and the validators to keep."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


@dataclass
class PollOutcome:
    source: str
    status: str  # "ok", "not_modified", "failed", "skipped"
    created: int = 0
    duplicates: int = 0
    #: Posts that named none of the source's keywords or handles, so were not stored.
    not_relevant: int = 0
    errors: list[str] = field(default_factory=list)


class FeedClient(SourceClient):
    """The built-in ``rss`` kind: an RSS or Atom feed, fetched with a conditional GET."""

    name = "rss"
    title = "RSS or Atom feed"

    def fetch(self, source: PolledSource, since: datetime | None) -> list[dict[str, Any]] | None:
        # A feed holds its latest entries whatever ``since`` is: the ingestion drops the ones stored before.
        fetched = fetch(source.url, source.state.get("etag"), source.state.get("last_modified"))
        if fetched.body is None:
            return None
        posts = feed_posts(fetched.body, source.name, [], source.handles)
        source.state = {key: value for key, value in (("etag", fetched.etag),
                                                       ("last_modified", fetched.last_modified)) if value}
        return posts


def backoff(failures: int) -> timedelta:
    """How long a source waits after ``failures`` failed polls in a row: the interval, doubled each time."""
    return min(POLL_INTERVAL * 2 ** max(failures - 1, 0), MAX_BACKOFF)


def poll_due_sources() -> int:
    """Job: enqueue a poll of every active polled source (any kind but ``push``) that is due; return how many.

    Each source's next poll is pushed one interval on as its job is enqueued, so a cron run before the job
    has finished enqueues it no second time; the poll sets the real next time when it ends.
    """
    with jobs.job_app(), transaction() as session:
        now = utcnow()
        due = session.scalars(
            select(SocialSource)
            .where(SocialSource.active.is_(True), SocialSource.kind != "push",
                   or_(SocialSource.next_poll_at.is_(None), SocialSource.next_poll_at <= now + DUE_SLACK))
            .order_by(SocialSource.id).with_for_update(skip_locked=True)).all()
        for source in due:
            source.next_poll_at = now + POLL_INTERVAL
            jobs.enqueue(session, poll_source, source.id)
        return len(due)


def poll_source(source_id: int) -> dict[str, Any]:
    """Job: poll one source through the client of its kind, store its relevant new posts, record the outcome.

    A failing source is not a failing job: the failure is kept on the source and its next poll backs off,
    so the job returns normally and the outbox does not retry it as well.
    """
    with jobs.job_app():
        with transaction() as session:
            source = session.get(SocialSource, source_id)
            if source is None or not source.active or source.kind == "push":
                return PollOutcome(str(source_id), "skipped").__dict__
            polled = PolledSource(source.id, source.name, source.kind, source.url, list(source.keywords or ()),
                                  list(source.handles or ()), dict(source.state or {}))
            since = source.last_success_at
        # Taken before the fetch: a post published while it runs is newer than the next poll's ``since``.
        started = utcnow()
        # The fetch runs outside any transaction: a slow source must not hold a database lock.
        try:
            posts = _fetch(polled, since)
        except SourceFailure as exc:
            return _record_failure(source_id, polled.name, str(exc)).__dict__
        with transaction() as session:
            source = session.get(SocialSource, source_id)
            outcome = PollOutcome(polled.name, "not_modified" if posts is None else "ok")
            if posts:
                posts = mark_brand_replies(posts, polled.handles)
                kept, skipped = watch(posts, polled.keywords, polled.handles)
                outcome.not_relevant = len(skipped)
                if kept:
                    report = store_posts(session, kept)
                    outcome.created, outcome.duplicates = len(report.created), len(report.duplicates)
                    outcome.errors = [f"{kept[r.index].get('external_id')}: {r.errors}" for r in report.rejected]
            now = utcnow()
            source.state = polled.state
            source.failures, source.last_polled_at, source.next_poll_at = 0, now, now + POLL_INTERVAL
            source.last_success_at = started
            # Rejected posts do not stop the rest; they are shown on the source until a clean poll.
            source.last_error = ("; ".join(outcome.errors))[:2000] or None
        log.info("polled %s: %s", polled.name, outcome)
        return outcome.__dict__


def _fetch(source: PolledSource, since: datetime | None) -> list[dict[str, Any]] | None:
    """The client's answer for ``source``, each post under the source's name.

    :raises SourceFailure: when no client serves the kind, or the client fails or answers nonsense.
    """
    client = source_clients().get(source.kind)
    if client is None:
        raise SourceFailure(f"no client for kind {source.kind!r} is loaded: enable its plugin or change the kind")
    try:
        posts = client.fetch(source, since)
    except SourceFailure:
        raise
    except Exception as exc:  # a plugin's bug or its platform's outage: the source's failure, not the job's
        log.warning("social source client %r failed on source %s", client.name, source.name, exc_info=True)
        raise SourceFailure(f"the {client.name} client failed: {type(exc).__name__}: {exc}") from exc
    if posts is None:
        return None
    if not isinstance(posts, list) or not all(isinstance(post, Mapping) for post in posts):
        raise SourceFailure(f"the {client.name} client answered {type(posts).__name__}, not a list of posts")
    # A client speaks for its own source only: it cannot store posts under another source's name.
    return [{**post, "source": source.name} for post in posts]


def _record_failure(source_id: int, name: str, error: str) -> PollOutcome:
    with transaction() as session:
        source = session.get(SocialSource, source_id)
        now = utcnow()
        source.failures += 1
        source.last_polled_at, source.last_error = now, error[:2000]
        source.next_poll_at = now + backoff(source.failures)
        log.warning("polling %s failed (%d in a row, next at %s): %s", name, source.failures,
                    source.next_poll_at.isoformat(), error)
        return PollOutcome(name, "failed", errors=[error])


def _without_userinfo(url: str) -> tuple[str, str | None]:
    """``url`` without the ``user:password@`` a feed's address may carry, and them as ``user:password``."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    plain = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), plain


def fetch(url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
    """GET ``url``, conditional on the validators of the last poll, from a public address only.

    :raises FeedError: on an HTTP error status, a timeout, an unreachable host or an oversized document.
    :raises FetchRefused: when the host, or a redirect, leads to an address that is not public (unless the
        deployment allows private feeds), or there are too many redirects.
    """
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, application/xml, "
                                                  "text/xml;q=0.9, */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    url, credentials = _without_userinfo(url)
    if credentials:  # urllib took "user:pw@host" for the host name: the feed could never be polled
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    request = urllib.request.Request(url, headers=headers)
    # Messages name the address without its user, password or query (where a feed's key rides): they are
    # logged and stored on the source.
    shown = public_url(url)
    try:
        with open_public(request, timeout=FETCH_TIMEOUT) as response:
            body = response.read(MAX_FEED_BYTES + 1)
            if len(body) > MAX_FEED_BYTES:
                raise FeedError(f"the feed is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
            return Fetched(body, response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except FetchRefused as exc:
        raise FetchRefused(f"refused to fetch {shown}: {exc}") from exc
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        raise FeedError(f"HTTP {exc.code} {exc.reason} from {shown}") from exc
    except TimeoutError as exc:
        raise FeedError(f"no answer from {shown} within {FETCH_TIMEOUT} s") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise FeedError(f"no answer from {shown} within {FETCH_TIMEOUT} s") from exc
        raise FeedError(f"cannot reach {shown}: {reason}") from exc


def feed_posts(body: bytes, source: str, keywords: list[str], handles: list[str]) -> list[dict[str, Any]]:
    """Parse a feed document into post payloads (the channel's format), keeping those that name a keyword
    (all of them when ``keywords`` is empty; polling applies the source's keywords and handles itself).

    :raises FeedError: when the document is not a well-formed RSS or Atom feed.
    """
    import feedparser

    parsed = feedparser.parse(body)
    problem = parsed.get("bozo_exception")
    if parsed.bozo and not isinstance(problem, feedparser.CharacterEncodingOverride):
        # A broken document may still yield some entries; half a feed is not trusted, the next poll retries.
        raise FeedError(f"malformed feed: {problem}")
    if not parsed.version:
        raise FeedError("not an RSS or Atom feed")
    words = [k.casefold() for k in keywords if k.strip()]
    brand = {clean_handle(h) for h in handles}
    posts = []
    for entry in parsed.entries:
        post = entry_post(entry, source, brand)
        if not words or any(w in post["text"].casefold() for w in words):
            posts.append(post)
    return posts


def entry_post(entry, source: str, brand_handles: set[str]) -> dict[str, Any]:
    """One feed entry as a post payload; ``brand_handles`` are the brand's own handles, casefolded."""
    text = _plain(entry.get("summary") or entry.get("title") or "")
    author = (entry.get("author") or "").strip() or None
    ext = entry.get("id") or entry.get("link")
    if not ext or len(ext) > 150:  # no stable id, or too long to keep: the entry's content names it
        ext = "sha1:" + hashlib.sha1(f"{ext}|{entry.get('title')}|{text}".encode()).hexdigest()
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    posted_at = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else utcnow()
    reply_to = entry.get("thr_in-reply-to")
    return {
        "source": source, "external_id": ext, "posted_at": posted_at.isoformat(), "text": text,
        "author": author, "in_reply_to": reply_to.get("ref") if isinstance(reply_to, dict) else None,
        "url": _web_address(entry.get("link")), "handles": handles_in(text),
        "brand_reply": author is not None and clean_handle(author) in brand_handles,
    }


def _web_address(link: Any) -> str | None:
    """The entry's link if it is a web address. feedparser copies a <guid> into it when there is no <link>,
    and a guid such as "r3" refused the whole post ("url: Not a valid URL"), lost for good behind a 304."""
    if not isinstance(link, str):
        return None
    parts = urllib.parse.urlsplit(link)
    return link if parts.scheme in ("http", "https") and parts.netloc else None


def _plain(markup: str) -> str:
    # Feeds carry HTML in their summaries; sentiment and keywords want the words only.
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())

