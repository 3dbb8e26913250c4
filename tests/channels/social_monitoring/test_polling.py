"""Polling feeds on a real RQ worker: a feed served over HTTP in the test, stored once, backed off, isolated."""
from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from channels.social_monitoring import polling
from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.sources import SourceError, save_source
from core import jobs
from core.db import transaction
from core.models import AuditEntry, Feedback, PendingJob, User, utcnow

# A queue of this test run's own: another run on the same Redis must not work its jobs.
QUEUE = f"test-social-polling-{os.getpid()}"


def rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS 2.0 document of (guid, author, text) items."""
    when = format_datetime(utcnow() - timedelta(hours=1), usegmt=True)
    body = "".join(f"<item><guid>{guid}</guid><author>{author}</author><description>{text}</description>"
                   f"<link>http://example.com/p/{guid}</link><pubDate>{when}</pubDate></item>"
                   for guid, author, text in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Mentions</title>'
            f"<link>http://example.com/</link><description>d</description>{body}</channel></rss>").encode()


class FeedServer:
    """A local HTTP server answering each path with what the test sets, honouring If-None-Match."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.authorizations: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                etag_sent = self.headers.get("If-None-Match")
                server.requests.append((self.path, etag_sent))
                server.authorizations.append(self.headers.get("Authorization"))
                status, body = server.routes.get(self.path, (404, b"no such feed"))
                if status in (301, 302, 307):  # a redirect: the body is where to
                    self.send_response(status)
                    self.send_header("Location", body.decode())
                    self.end_headers()
                    return
                if status == 0:  # a feed that never answers in time
                    time.sleep(1.5)
                    status = 200
                etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                if status == 200 and etag_sent == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feeds():
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def rq_app(make_app, redis_url):
    # The test's feeds are served on 127.0.0.1: an intranet feed, as far as the address checks go.
    return make_app(REDIS_URL=redis_url, QUEUE_NAME=QUEUE, SOCIAL_ALLOW_PRIVATE_FEEDS=True)


@pytest.fixture
def add_feed(make_hr):
    """Return ``add(app, name, url, **fields) -> id``: a feed source HR adds."""
    def add(app, name: str, url: str, **fields) -> int:
        hr = make_hr(app)
        with app.app_context(), transaction() as session:
            return save_source(session, session.get(User, hr), name=name, kind="rss", url=url, **fields).id
    return add


def _poll_round(app) -> int:
    """What ``plaudit cron`` and a worker do: enqueue the due polls, then work the queue until it is empty."""
    with app.app_context():
        enqueued = polling.poll_due_sources()
    jobs.run_worker(app, burst=True, worker_class=SimpleWorker)
    return enqueued


def _make_due(app, *source_ids: int) -> None:
    """Let the waiting time pass: the next poll is due now."""
    with app.app_context(), transaction() as session:
        for source in session.scalars(select(SocialSource).where(SocialSource.id.in_(source_ids))):
            source.next_poll_at = utcnow() - timedelta(seconds=1)


def _source(app, source_id: int) -> SocialSource:
    with app.app_context(), transaction() as session:
        source = session.get(SocialSource, source_id)
        session.expunge(source)
        return source


def _stored(app) -> list[str]:
    with app.app_context(), transaction() as session:
        return list(session.scalars(select(Feedback.external_id).where(Feedback.channel == "social_monitoring")
                                    .order_by(Feedback.external_id)))


def test_new_entries_are_stored_once_across_two_polls(rq_app, feeds, add_feed):
    feeds.routes["/brand.rss"] = (200, rss(("p1", "carla", "Great help from @AcmeCare today, thanks!"),
                                           ("p2", "dev", "Still waiting on my refund. Terrible.")))
    # p1 names the handle, p2 a keyword, p3 is by the handle: all three are watched
    source_id = add_feed(rq_app, "brand-feed", feeds.url + "/brand.rss", handles=["AcmeCare"],
                          keywords=["REFUND"])

    assert _poll_round(rq_app) == 1
    assert _stored(rq_app) == ["brand-feed:p1", "brand-feed:p2"]
    first = _source(rq_app, source_id)
    assert first.state["etag"] and first.failures == 0 and first.last_error is None
    assert first.next_poll_at > utcnow()
    assert _poll_round(rq_app) == 0  # not due again yet: nothing is fetched

    feeds.routes["/brand.rss"] = (200, rss(("p1", "carla", "Great help from @AcmeCare today, thanks!"),
                                           ("p2", "dev", "Still waiting on my refund. Terrible."),
                                           ("p3", "AcmeCare", "@dev sorry, we are on it")))
    _make_due(rq_app, source_id)
    assert _poll_round(rq_app) == 1
    assert _stored(rq_app) == ["brand-feed:p1", "brand-feed:p2", "brand-feed:p3"]
    assert feeds.requests[-1] == ("/brand.rss", first.state["etag"])  # a conditional GET

    with rq_app.app_context(), transaction() as session:
        items = {f.external_id: f for f in session.scalars(select(Feedback))}
        assert items["brand-feed:p1"].payload["handles"] == ["AcmeCare"]
        assert items["brand-feed:p1"].payload["url"] == "http://example.com/p/p1"
        assert items["brand-feed:p3"].payload["brand_reply"] is True and items["brand-feed:p3"].value is None
        assert items["brand-feed:p1"].value > 0 > items["brand-feed:p2"].value
        assert session.scalar(select(func.count()).select_from(PendingJob)) == 0  # every job succeeded

    _make_due(rq_app, source_id)  # unchanged feed: the server answers 304 and nothing is read
    assert _poll_round(rq_app) == 1
    assert len(_stored(rq_app)) == 3
    assert _source(rq_app, source_id).last_polled_at > first.last_polled_at


def test_a_failure_names_the_feed_without_its_key(rq_app, feeds, add_feed, caplog):
    """A feed's key rides in its query string: the stored error and the log name the address without it."""
    source_id = add_feed(rq_app, "keyed", feeds.url + "/keyed.rss?key=s3cret-feed-key")
    with caplog.at_level("WARNING"):
        assert _poll_round(rq_app) == 1
    failed = _source(rq_app, source_id)
    assert "HTTP 404" in failed.last_error and "/keyed.rss" in failed.last_error
    assert "s3cret-feed-key" not in failed.last_error and "s3cret-feed-key" not in caplog.text


def test_a_server_error_backs_off_and_is_retried(rq_app, feeds, add_feed):
    feeds.routes["/flaky.rss"] = (500, b"upstream down")
    source_id = add_feed(rq_app, "flaky", feeds.url + "/flaky.rss")

    assert _poll_round(rq_app) == 1
    failed = _source(rq_app, source_id)
    assert failed.failures == 1 and "HTTP 500" in failed.last_error
    assert failed.next_poll_at - failed.last_polled_at == polling.POLL_INTERVAL
    assert _poll_round(rq_app) == 0  # backing off: not polled before its time

    _make_due(rq_app, source_id)
    assert _poll_round(rq_app) == 1
    again = _source(rq_app, source_id)
    assert again.failures == 2 and again.next_poll_at - again.last_polled_at == 2 * polling.POLL_INTERVAL
    assert _stored(rq_app) == []

    feeds.routes["/flaky.rss"] = (200, rss(("f1", "erin", "Back up, and the agent was lovely")))
    _make_due(rq_app, source_id)
    assert _poll_round(rq_app) == 1
    recovered = _source(rq_app, source_id)
    assert recovered.failures == 0 and recovered.last_error is None
    assert recovered.next_poll_at - recovered.last_polled_at == polling.POLL_INTERVAL
    assert _stored(rq_app) == ["flaky:f1"]
    assert [path for path, _ in feeds.requests] == ["/flaky.rss"] * 3


def test_a_feed_that_does_not_answer_in_time_backs_off(rq_app, feeds, add_feed, monkeypatch):
    monkeypatch.setattr(polling, "FETCH_TIMEOUT", 0.3)
    feeds.routes["/slow.rss"] = (0, rss(("s1", "gus", "fine")))
    source_id = add_feed(rq_app, "slow", feeds.url + "/slow.rss")

    assert _poll_round(rq_app) == 1
    slow = _source(rq_app, source_id)
    assert slow.failures == 1 and "no answer" in slow.last_error and _stored(rq_app) == []


def test_a_malformed_feed_is_reported_without_stopping_the_others(rq_app, feeds, add_feed):
    feeds.routes["/broken.rss"] = (200, b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>cut')
    feeds.routes["/page.html"] = (200, b"<html><body>Moved to our new site</body></html>")
    feeds.routes["/good.rss"] = (200, rss(("g1", "fay", "Quick and kind answer, thank you")))
    broken = add_feed(rq_app, "broken", feeds.url + "/broken.rss")
    page = add_feed(rq_app, "page", feeds.url + "/page.html")
    good = add_feed(rq_app, "good", feeds.url + "/good.rss")

    assert _poll_round(rq_app) == 3
    assert _stored(rq_app) == ["good:g1"]
    assert "malformed feed" in _source(rq_app, broken).last_error
    assert _source(rq_app, page).last_error == "not an RSS or Atom feed"
    assert _source(rq_app, broken).failures == _source(rq_app, page).failures == 1
    assert _source(rq_app, good).failures == 0 and _source(rq_app, good).last_error is None
    with rq_app.app_context(), transaction() as session:  # the failures are the sources', not failed jobs
        assert session.scalar(select(func.count()).select_from(PendingJob)) == 0


def test_sources_are_checked_and_audited(rq_app, make_hr):
    hr = make_hr(rq_app)
    with rq_app.app_context(), transaction() as session:
        actor = session.get(User, hr)
        with pytest.raises(SourceError) as bad_url:
            save_source(session, actor, name="x", kind="rss", url="ftp://example.com/feed")
        assert bad_url.value.field == "url"
        with pytest.raises(SourceError) as spaced:
            save_source(session, actor, name="x", kind="rss", url="http://exa mple.com/feed")
        assert (spaced.value.field, spaced.value.message) == ("url", ("an address has no spaces: write a space "
                                                                     "inside it as %20"))
        with pytest.raises(SourceError) as bad_kind:
            save_source(session, actor, name="x", kind="fax")
        assert bad_kind.value.field == "kind"
        source = save_source(session, actor, name="Brand", kind="rss", url="https://example.com/a.rss",
                             keywords=["refund", " refund ", ""], handles=["@AcmeCare"])
        assert (source.name, source.keywords, source.handles) == ("brand", ["refund"], ["AcmeCare"])
        source.state, source.failures = {"etag": '"v1"'}, 3
        save_source(session, actor, name="brand", kind="rss", url="https://example.com/b.rss",
                    source_id=source.id)
        assert source.state == {} and source.failures == 0  # a new address is fetched afresh
        with pytest.raises(SourceError) as clash:
            save_source(session, actor, name="brand", kind="push")
        assert clash.value.field == "name"
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "sm_sources")
                                       .order_by(AuditEntry.id)))
        assert actions == ["social_source.created", "social_source.updated"]
        # A feed's password and key are no more in the audit than in the pages: the audit holds no secret.
        keyed = save_source(session, actor, name="keyed", kind="rss",
                            url="https://feeds:hunter2@example.com/c.rss?key=SECRETKEY")
        save_source(session, actor, name="keyed", kind="rss", source_id=keyed.id,
                    url="https://feeds:hunter2@example.com/c.rss?key=NEWKEY")
        audits = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(keyed.id))
                                 .order_by(AuditEntry.id)).all()
        written = repr([(a.before, a.after) for a in audits])
        assert "hunter2" not in written and "SECRETKEY" not in written and "NEWKEY" not in written
        assert audits[1].after["url"] == "https://example.com/c.rss"
        assert audits[1].before["url_fingerprint"] != audits[1].after["url_fingerprint"]  # the key changed
    with rq_app.app_context(), transaction() as session:
        employee = User(email="e@example.com", name="E", active=True)
        employee.roles = ("employee",)
        with pytest.raises(PermissionError):
            save_source(session, employee, name="y", kind="push")


def test_a_feed_is_polled_at_every_cron_run_its_interval_apart(rq_app, feeds, add_feed):
    """The poll set its next time when it ended, a moment after the cron run that enqueued it: five minutes
    later the next run found it just short of due, and every feed was polled every 10 minutes, not 5."""
    feeds.routes["/care.rss"] = (200, rss(("c1", "carla", "Great help from @AcmeCare")))
    source_id = add_feed(rq_app, "care-feed", feeds.url + "/care.rss", handles=["AcmeCare"])
    assert _poll_round(rq_app) == 1
    # The next cron run, one interval after the last, comes a moment before the time the poll set at its end.
    with rq_app.app_context(), transaction() as session:
        session.get(SocialSource, source_id).next_poll_at = utcnow() + timedelta(seconds=2)
    assert _poll_round(rq_app) == 1


def test_a_feed_behind_a_password_in_its_address_is_polled_with_it(rq_app, feeds, add_feed):
    """With user:password@ in the address, urllib took them for the host name: 'Name or service not known'."""
    import base64

    feeds.routes["/private.rss"] = (200, rss(("q1", "carla", "Great help from @AcmeCare")))
    address = feeds.url.replace("http://", "http://feeds:p%40ss@") + "/private.rss"
    source_id = add_feed(rq_app, "private-feed", address, handles=["AcmeCare"])
    assert _poll_round(rq_app) == 1
    assert _source(rq_app, source_id).last_error is None and _stored(rq_app) == ["private-feed:q1"]
    assert feeds.authorizations[-1] == "Basic " + base64.b64encode(b"feeds:p@ss").decode()


def test_an_entry_without_a_link_keeps_its_post(rq_app, feeds, add_feed):
    """feedparser gives an item without <link> its <guid> as link: 'r3' failed the post's URL check, and the post
    was lost for good (the next polls got 304)."""
    when = format_datetime(utcnow() - timedelta(hours=1), usegmt=True)
    feeds.routes["/nolink.rss"] = (200, (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Mentions</title><link>http://example.com/</link>'
        "<description>d</description><item><guid>r3</guid><author>fran</author>"
        f"<description>@AcmeCare glad we could help</description><pubDate>{when}</pubDate></item>"
        "</channel></rss>").encode())
    source_id = add_feed(rq_app, "nolink-feed", feeds.url + "/nolink.rss", handles=["AcmeCare"])
    assert _poll_round(rq_app) == 1
    assert _stored(rq_app) == ["nolink-feed:r3"] and _source(rq_app, source_id).last_error is None


def test_without_redis_the_poll_command_polls_the_feeds_here(make_app, feeds, add_feed):
    """Without Redis there is no `plaudit cron`: feeds showed 'at the next cron run' for ever."""
    app = make_app(SOCIAL_ALLOW_PRIVATE_FEEDS=True)  # jobs inline
    feeds.routes["/inline.rss"] = (200, rss(("i1", "carla", "Great help from @AcmeCare")))
    add_feed(app, "inline-feed", feeds.url + "/inline.rss", handles=["AcmeCare"])
    result = app.test_cli_runner().invoke(args=["social", "poll"])
    assert result.exit_code == 0 and "1 source(s) due; their polls run here" in result.output, result.output
    assert _stored(app) == ["inline-feed:i1"]
    again = app.test_cli_runner().invoke(args=["social", "poll"])
    assert "no source is due for a poll" in again.output


def test_a_feed_s_password_is_not_sent_on_to_another_host(rq_app, feeds, add_feed):
    """Redirected elsewhere, urllib sent the feed's Basic credentials on to the new host."""
    elsewhere = FeedServer()
    try:
        elsewhere.routes["/moved.rss"] = (200, rss(("m1", "carla", "Great help from @AcmeCare")))
        feeds.routes["/old.rss"] = (302, (elsewhere.url + "/moved.rss").encode())
        add_feed(rq_app, "moved-feed", feeds.url.replace("http://", "http://feeds:s3cret@") + "/old.rss",
                 handles=["AcmeCare"])
        assert _poll_round(rq_app) == 1
        assert _stored(rq_app) == ["moved-feed:m1"]
        assert feeds.authorizations[-1] is not None and elsewhere.authorizations == [None]
    finally:
        elsewhere.close()
