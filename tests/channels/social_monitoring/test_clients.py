"""A platform API client added as a plugin: polled by the real poll job on a real RQ worker, its state kept,
its posts watched for keywords and handles, and its failures backed off without stopping the other sources."""
from __future__ import annotations

import json
import threading
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from channels.social_monitoring import polling
from channels.social_monitoring.clients import (
    SourceClient,
    SourceFailure,
    clean_handle,
    kind_titles,
    mark_brand_replies,
    watch,
)
from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.sources import SourceError, save_source
from core import hookimpl
from core.db import transaction
from core.models import Feedback, User, utcnow
from core.plugins import PluginError
from tests.channels.social_monitoring.test_polling import (
    QUEUE,
    _make_due,
    _poll_round,
    _source,
    _stored,
)

HOUR_AGO = (utcnow() - timedelta(hours=1)).isoformat()


class StatusServer:
    """A toy platform API: ``GET /statuses?since_id=N`` answers the statuses with a greater id, as JSON."""

    def __init__(self):
        self.statuses: list[dict] = []
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                since = int(parse_qs(urlsplit(self.path).query).get("since_id", ["0"])[0])
                body = json.dumps([s for s in server.statuses if s["id"] > since]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/statuses"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Toots(SourceClient):
    """What a developer writes for a platform: read its API, keep a cursor, answer post payloads."""

    name = "toots"
    title = "Toots (a Mastodon-like API)"

    def fetch(self, source, since):
        cursor = source.state.get("since_id", 0)
        with urllib.request.urlopen(f"{source.url}?since_id={cursor}", timeout=5) as response:
            statuses = json.load(response)
        if statuses:
            source.state = {"since_id": max(s["id"] for s in statuses)}
        # "source" says another source's name: polling stores it under this source's name all the same
        return [{"source": "someone-else", "external_id": str(s["id"]), "posted_at": HOUR_AGO, "text": s["content"],
                 "author": s["account"], "handles": s.get("mentions", [])} for s in statuses]


class Broken(SourceClient):
    name = "broken_api"
    title = "An API whose client fails"
    needs_url = False

    def fetch(self, source, since):
        raise RuntimeError("the platform changed its API")


class ClientsPlugin:
    @hookimpl
    def register_social_source_clients(self):
        return [Toots, Broken]


@pytest.fixture
def api():
    server = StatusServer()
    yield server
    server.close()


@pytest.fixture
def client_app(make_app, redis_url):
    # The toy platform is served on 127.0.0.1, which a source may name only where private feeds are allowed.
    return make_app(REDIS_URL=redis_url, QUEUE_NAME=QUEUE, SOCIAL_ALLOW_PRIVATE_FEEDS=True,
                    extra_plugins={"toots": ClientsPlugin()})


def _add(app, name: str, kind: str, url: str | None = None, **fields) -> int:
    with app.app_context(), transaction() as session:
        actor = session.scalar(select(User).where(User.email == "hr@example.com"))
        return save_source(session, actor, name=name, kind=kind, url=url, **fields).id


def test_a_plugin_client_is_polled_keeps_its_cursor_and_watches_keywords_and_handles(client_app, api, make_hr):
    make_hr(client_app)
    api.statuses = [{"id": 1, "content": "The REFUND came through, thanks", "account": "carla"},
                    {"id": 2, "content": "Lovely weather today", "account": "dev"},
                    {"id": 3, "content": "Thanks @acmecare for the help", "account": "erin", "mentions": ["AcmeCare"]}]
    source_id = _add(client_app, "toots-brand", "toots", api.url, keywords=["refund"], handles=["@AcmeCare"])

    assert _poll_round(client_app) == 1
    # id 2 names neither the keyword nor the handle: not relevant, not stored
    assert _stored(client_app) == ["toots-brand:1", "toots-brand:3"]
    polled = _source(client_app, source_id)
    assert polled.state == {"since_id": 3} and polled.failures == 0 and polled.last_success_at is not None

    api.statuses.append({"id": 4, "content": "@AcmeCare still waiting", "account": "gus"})
    _make_due(client_app, source_id)
    assert _poll_round(client_app) == 1
    assert api.requests[-1].endswith("?since_id=3")  # the client's cursor came back to it
    assert _stored(client_app) == ["toots-brand:1", "toots-brand:3", "toots-brand:4"]


def test_the_poll_reports_posts_that_are_not_relevant(client_app, api, make_hr):
    make_hr(client_app)
    api.statuses = [{"id": 1, "content": "refund please", "account": "a"},
                    {"id": 2, "content": "nothing to see", "account": "b"}]
    source_id = _add(client_app, "watched", "toots", api.url, keywords=["Refund"])
    with client_app.app_context():
        outcome = polling.poll_source(source_id)
    assert (outcome["status"], outcome["created"], outcome["not_relevant"]) == ("ok", 1, 1)


def test_a_failing_client_backs_off_without_stopping_the_other_sources(client_app, api, make_hr):
    make_hr(client_app)
    api.statuses = [{"id": 7, "content": "Fast answer, thank you", "account": "fay"}]
    broken = _add(client_app, "broken", "broken_api")
    good = _add(client_app, "good", "toots", api.url)

    assert _poll_round(client_app) == 2
    assert _stored(client_app) == ["good:7"]
    failed = _source(client_app, broken)
    assert failed.failures == 1 and "RuntimeError: the platform changed its API" in failed.last_error
    assert failed.next_poll_at - failed.last_polled_at == polling.POLL_INTERVAL
    _make_due(client_app, broken)
    assert _poll_round(client_app) == 1  # the good source is not due yet; the broken one is, and fails again
    again = _source(client_app, broken)
    assert again.failures == 2 and again.next_poll_at - again.last_polled_at == 2 * polling.POLL_INTERVAL
    assert _source(client_app, good).failures == 0


def test_a_kind_must_be_served_by_a_loaded_client(client_app, make_app, make_hr):
    hr = make_hr(client_app)
    with client_app.app_context(), transaction() as session:
        actor = session.get(User, hr)
        assert list(kind_titles()) == ["rss", "push", "toots", "broken_api"]
        with pytest.raises(SourceError) as bad:
            save_source(session, actor, name="x", kind="mastodon")
        assert bad.value.field == "kind" and "toots" in bad.value.message
        with pytest.raises(SourceError) as no_url:
            save_source(session, actor, name="x", kind="toots")
        assert no_url.value.field == "url"
        save_source(session, actor, name="orphan", kind="toots", url="https://example.com/api")
    # The plugin is switched off: its sources are polled, fail with a message saying so, and back off.
    plain = make_app(REDIS_URL=client_app.config["REDIS_URL"], QUEUE_NAME=QUEUE)
    with plain.app_context(), transaction() as session:
        orphan = session.scalar(select(SocialSource).where(SocialSource.name == "orphan"))
        assert "toots" not in kind_titles()
        source_id = orphan.id
    with plain.app_context():
        outcome = polling.poll_source(source_id)
    assert outcome["status"] == "failed" and "no client for kind 'toots'" in outcome["errors"][0]


@pytest.mark.parametrize("kind", ["rss", "push"])
def test_a_plugin_may_not_take_a_built_in_kind_the_app_does_not_start(make_app, kind):
    class Taken(SourceClient):
        name = kind
        title = "Another reader"

    class Plugin:
        @hookimpl
        def register_social_source_clients(self):
            return [Taken]

    # Refused when the app is made, not at every sources page and poll afterwards.
    with pytest.raises(PluginError, match=f"kind\\(s\\) {kind} are built in"):
        make_app(extra_plugins={"taken": Plugin()})


def test_a_post_by_a_watched_handle_is_a_brand_reply_whatever_the_client_says(client_app, api, make_hr):
    make_hr(client_app)
    api.statuses = [{"id": 1, "content": "Sorry to hear that, we are on it ^RR", "account": "AcmeCare"},
                    {"id": 2, "content": "@AcmeCare where is my parcel?", "account": "carla"}]
    source_id = _add(client_app, "toots-replies", "toots", api.url, handles=["@acmecare"])
    with client_app.app_context():
        assert polling.poll_source(source_id)["created"] == 2
    with client_app.app_context(), transaction() as session:
        kinds = dict(session.execute(select(Feedback.external_id, Feedback.kind)
                                     .where(Feedback.channel == "social_monitoring")).all())
    assert kinds == {"toots-replies:1": "social_reply", "toots-replies:2": "social_mention"}


def test_since_is_when_the_last_successful_poll_began(make_app, make_hr):
    """A post published while a poll fetches is newer than the next poll's ``since``, so it is not missed."""
    calls: list[tuple] = []

    class Recording(SourceClient):
        name = "recording"
        title = "Records what it is asked"
        needs_url = False

        def fetch(self, source, since):
            calls.append((since, utcnow()))
            return []

    class Plugin:
        @hookimpl
        def register_social_source_clients(self):
            return [Recording]

    app = make_app(extra_plugins={"recording": Plugin()})
    make_hr(app)
    source_id = _add(app, "recorded", "recording")
    with app.app_context():
        polling.poll_source(source_id)
        polling.poll_source(source_id)
    (first_since, first_fetch), (second_since, _) = calls
    assert first_since is None
    # The database may hand back a naive UTC time: compare as UTC.
    second_since = second_since if second_since.tzinfo else second_since.replace(tzinfo=first_fetch.tzinfo)
    assert second_since <= first_fetch


def test_watching_keywords_and_handles_ignores_case():
    posts = [{"text": "Where is my REFUND?"}, {"text": "hello", "handles": ["AcmeCare"]},
             {"text": "hi", "author": "@ACMECARE"}, {"text": "ping @acmecare"}, {"text": "unrelated"}]
    kept, skipped = watch(posts, ["refund"], ["@AcmeCare"])
    assert len(kept) == 4 and skipped == [4]
    assert watch(posts, [], []) == (posts, [])


def test_brand_replies_are_marked_by_the_source_handles_in_any_case():
    posts = [{"author": "@ACMECARE"}, {"author": "carla", "brand_reply": True}, {"author": None}, {}]
    marked = mark_brand_replies(posts, ["@AcmeCare"])
    assert [p.get("brand_reply") for p in marked] == [True, True, None, None]
    assert mark_brand_replies(posts, []) == posts and clean_handle(" @AcmeCare") == "acmecare"


def test_a_failure_the_client_names_is_recorded_as_it_says(make_app, make_hr):
    class Down(SourceClient):
        name = "down"
        title = "Down"
        needs_url = False

        def fetch(self, source, since):
            raise SourceFailure("rate limited until 12:00")

    class Plugin:
        @hookimpl
        def register_social_source_clients(self):
            return [Down]

    app = make_app(extra_plugins={"down": Plugin()})
    make_hr(app)
    source_id = _add(app, "limited", "down")
    with app.app_context():
        outcome = polling.poll_source(source_id)
    assert outcome["status"] == "failed"
    limited = _source(app, source_id)
    assert limited.last_error == "rate limited until 12:00" and limited.failures == 1
