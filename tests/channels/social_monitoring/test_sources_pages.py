"""The sources pages: HR and admins list sources with their state, add and edit them with errors at the fields,
see a push secret once, replace it and switch a source off; everyone else is refused."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.sources import save_source
from channels.social_monitoring.store import store_posts
from core.db import transaction
from core.models import AuditEntry, User, utcnow
from tests.fixtures.app import row_counts
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")

SOURCES = "/channels/social_monitoring/sources"


def _signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client, csrf_token(client.get(SOURCES if email in ("hr@example.com", "admin@example.com") else "/",
                                         follow_redirects=True).get_data(as_text=True))


def _source(app, name: str) -> SocialSource | None:
    with app.app_context(), transaction() as session:
        source = session.scalar(select(SocialSource).where(SocialSource.name == name))
        if source is not None:
            session.expunge(source)
        return source


def _form(token: str, **fields) -> dict:
    return {"csrf_token": token, "name": "", "kind": "rss", "url": "", "keywords": "", "handles": "", "active": "1",
            **fields}


def test_hr_adds_a_feed_and_sees_its_state(app, worked_example):
    client, token = _signed_in(app, "hr@example.com")
    response = client.post(SOURCES, data=_form(token, name="brand-feed", url="https://example.com/m.rss",
                                               keywords="refund, late delivery\nrude", handles="@AcmeCare"))
    assert response.status_code == 303
    feed = _source(app, "brand-feed")
    assert (feed.kind, feed.keywords, feed.handles) == ("rss", ["refund", "late delivery", "rude"], ["AcmeCare"])
    with app.app_context(), transaction() as session:
        audited = session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "sm_sources"))
        assert audited.action == "social_source.created" and audited.actor_id == worked_example.hr
        # a failing poll, and two posts it stored before
        stored = session.get(SocialSource, feed.id)
        stored.failures, stored.last_error, stored.last_polled_at = 2, "HTTP 500 Internal Server Error", utcnow()
        store_posts(session, [{"source": "brand-feed", "external_id": f"p{i}", "posted_at": "2026-11-20T10:00:00Z",
                               "text": "refund please"} for i in range(2)])
    page = client.get(SOURCES).get_data(as_text=True)
    assert "brand-feed" in page and "HTTP 500 Internal Server Error" in page and "@AcmeCare" in page
    start = page.index(">brand-feed</a>")
    row = page[start:page.index("</tr>", start)]
    assert row.count("<td>2</td>") == 2  # the failures, and the items stored


def test_a_feeds_password_and_key_are_not_shown_on_the_page(app, worked_example):
    """The list showed https://bob:hunter2pass@.../rss?api_key=... in full, where the API strips them."""
    client, token = _signed_in(app, "hr@example.com")
    url = "https://bob:hunter2pass@example.com/m.rss?api_key=SUPERSECRETKEY123"
    assert client.post(SOURCES, data=_form(token, name="keyed-feed", url=url)).status_code == 303
    page = client.get(SOURCES).get_data(as_text=True)
    assert "https://example.com/m.rss</code> <span class=\"muted\">(credentials and query hidden)</span>" in page
    assert "hunter2pass" not in page and "SUPERSECRETKEY123" not in page and "bob:" not in page
    assert _source(app, "keyed-feed").url == url  # kept whole, for polling


def test_wrong_fields_are_refused_at_the_field_and_nothing_is_written(app, worked_example):
    client, token = _signed_in(app, "hr@example.com")
    before = row_counts(app)
    cases = [({"name": "Bad Name!", "url": "https://example.com/a.rss"}, "name"),
             ({"name": "feed", "url": "ftp://example.com/a.rss"}, "url"),
             ({"name": "feed", "kind": "fax"}, "kind"),
             ({"name": "pushed", "kind": "push", "url": "https://example.com/"}, "url")]
    for fields, field in cases:
        response = client.post(SOURCES, data=_form(token, **fields))
        assert response.status_code == 422, fields
        page = response.get_data(as_text=True)
        assert f'id="source-{field}-error"' in page, field
        assert re.search(rf'aria-describedby="(source-\w+-hint )?source-{field}-error[" ]', page), field
    assert row_counts(app) == before


def test_a_push_secret_is_shown_once_and_replaced_on_demand(app, worked_example):
    client, token = _signed_in(app, "admin@example.com")
    made = client.post(SOURCES, data=_form(token, name="brand-push", kind="push"))
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = _source(app, "brand-push").push_secret
    assert secret in made.get_data(as_text=True)
    assert "/channels/social_monitoring/push/brand-push" in made.get_data(as_text=True)
    assert secret not in client.get(SOURCES).get_data(as_text=True)  # never again
    source_id = _source(app, "brand-push").id
    edit = client.get(f"{SOURCES}/{source_id}").get_data(as_text=True)
    assert secret not in edit

    # asked first, saying what it costs: one click refused the sender's every push
    listing = client.get(SOURCES).get_data(as_text=True)
    assert "<summary>Replace secret</summary>" in listing and "refused with 401 until" in listing
    replaced = client.post(f"{SOURCES}/{source_id}/secret", data={"csrf_token": token})
    assert replaced.status_code == 200 and replaced.headers["Cache-Control"] == "no-store"
    new = _source(app, "brand-push").push_secret
    assert new != secret and new in replaced.get_data(as_text=True)
    feed = client.post(SOURCES, data=_form(token, name="feed", url="https://example.com/a.rss"))
    assert feed.status_code == 303
    # a polled source has no secret to replace
    assert client.post(f"{SOURCES}/{_source(app, 'feed').id}/secret", data={"csrf_token": token}).status_code == 400


def test_editing_and_switching_off_are_audited(app, worked_example):
    client, token = _signed_in(app, "hr@example.com")
    client.post(SOURCES, data=_form(token, name="feed", url="https://example.com/a.rss"))
    source_id = _source(app, "feed").id
    assert client.get(f"{SOURCES}/{source_id}").status_code == 200
    bad = client.post(f"{SOURCES}/{source_id}", data=_form(token, name="feed", url=""))
    assert bad.status_code == 422 and 'id="source-url-error"' in bad.get_data(as_text=True)
    saved = client.post(f"{SOURCES}/{source_id}", data=_form(token, name="feed", url="https://example.com/b.rss",
                                                               keywords="refund"))
    assert saved.status_code == 303
    assert (_source(app, "feed").url, _source(app, "feed").keywords) == ("https://example.com/b.rss", ["refund"])
    listing = client.get(SOURCES).get_data(as_text=True)
    assert "<summary>Switch off</summary>" in listing and "Switch feed off</button>" in listing
    off = client.post(f"{SOURCES}/{source_id}/active", data={"csrf_token": token, "active": "0"})
    assert off.status_code == 303 and _source(app, "feed").active is False
    assert client.post(f"{SOURCES}/{source_id}/active", data={"csrf_token": token, "active": "x"}).status_code == 400
    assert client.get(f"{SOURCES}/999999").status_code == 404
    with app.app_context(), transaction() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "sm_sources")
                                  .order_by(AuditEntry.id)).all()
        assert [e.action for e in entries] == ["social_source.created", "social_source.updated",
                                               "social_source.updated"]
        assert entries[-1].before == {"active": True} and entries[-1].after == {"active": False}


def test_only_hr_and_admins_may_open_or_change_sources(app, worked_example):
    for email in ("mia@example.com", "ann@example.com"):
        client, token = _signed_in(app, email)
        before = row_counts(app)
        assert client.get(SOURCES).status_code == 403, email
        response = client.post(SOURCES, data=_form(token, name="x", url="https://example.com/a.rss"))
        assert response.status_code == 403 and row_counts(app) == before, email


def test_without_the_channel_there_are_no_source_pages(make_app, worked_example):
    app = make_app(PLUGINS_BLOCKED=["social_monitoring"])
    with app.app_context(), transaction() as session:
        assert session.scalar(select(User.id).where(User.email == "hr@example.com"))
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    assert client.get(SOURCES).status_code == 404
    assert client.post("/channels/social_monitoring/push/x", data=b"{}").status_code == 404


def test_the_api_lists_sources_with_their_state_and_never_a_secret(app, worked_example):
    from core.models import ApiToken

    with app.app_context(), transaction() as session:
        hr = session.get(User, worked_example.hr)
        push = save_source(session, hr, name="brand-push", kind="push")
        feed = save_source(session, hr, name="a_feed", kind="rss", url="https://example.com/a.rss",
                           keywords=["refund"])
        feed.failures, feed.last_error = 1, "HTTP 500"
        # "axfeed" would match "a_feed:%" as a LIKE pattern; the count compares prefixes
        store_posts(session, [{"source": s, "external_id": "1", "posted_at": "2026-11-20T10:00:00Z", "text": "refund"}
                              for s in ("a_feed", "axfeed", "brand-push")])
        secret = push.push_secret
        row, token = ApiToken.issue(hr, "sources", ["org:read"])
        session.add(row)
    response = app.test_client().get("/api/v1/social/sources/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.get_json()
    assert secret not in response.get_data(as_text=True)
    items = {item["name"]: item for item in body}
    assert list(items) == ["a_feed", "brand-push"]  # by name
    assert (items["a_feed"]["failures"], items["a_feed"]["last_error"], items["a_feed"]["stored"]) == (1, "HTTP 500", 1)
    assert items["a_feed"]["keywords"] == ["refund"] and items["brand-push"]["stored"] == 1
    assert "push_secret" not in items["brand-push"]
    # A list's path ends in /, as every list's does: without it, the redirect there
    moved = app.test_client().get("/api/v1/social/sources", headers={"Authorization": f"Bearer {token}"})
    assert moved.status_code == 308 and moved.location.endswith("/api/v1/social/sources/")


def test_a_source_with_stored_posts_keeps_its_name(app, worked_example):
    client, token = _signed_in(app, "hr@example.com")
    client.post(SOURCES, data=_form(token, name="feed", url="https://example.com/a.rss"))
    client.post(SOURCES, data=_form(token, name="quiet", url="https://example.com/q.rss"))
    feed_id, quiet_id = _source(app, "feed").id, _source(app, "quiet").id
    with app.app_context(), transaction() as session:
        store_posts(session, [{"source": "feed", "external_id": "p1", "posted_at": "2026-11-20T10:00:00Z",
                               "text": "refund please"}])
    before = row_counts(app)
    renamed = client.post(f"{SOURCES}/{feed_id}", data=_form(token, name="brand-feed", url="https://example.com/a.rss"))
    assert renamed.status_code == 422
    page = renamed.get_data(as_text=True)
    assert 'id="source-name-error"' in page and "posts are stored under this name; add a new source instead" in page
    assert _source(app, "feed") is not None and row_counts(app) == before
    # The same name with other fields is saved; a source that stored nothing may still be renamed.
    assert client.post(f"{SOURCES}/{feed_id}", data=_form(token, name="feed", url="https://example.com/b.rss",
                                                          keywords="refund")).status_code == 303
    assert client.post(f"{SOURCES}/{quiet_id}", data=_form(token, name="calm", url="https://example.com/q.rss")
                       ).status_code == 303
    assert _source(app, "calm").id == quiet_id


def test_an_edit_that_makes_a_push_source_shows_its_secret_once_and_leaving_push_drops_it(app, worked_example):
    client, token = _signed_in(app, "hr@example.com")
    client.post(SOURCES, data=_form(token, name="feed", url="https://example.com/a.rss"))
    source_id = _source(app, "feed").id
    made = client.post(f"{SOURCES}/{source_id}", data=_form(token, name="feed", kind="push"))
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = _source(app, "feed").push_secret
    assert secret and secret in made.get_data(as_text=True)
    assert "/channels/social_monitoring/push/feed" in made.get_data(as_text=True)
    # Saved again as a push source: the secret stays and is not shown.
    again = client.post(f"{SOURCES}/{source_id}", data=_form(token, name="feed", kind="push", keywords="refund"))
    assert again.status_code == 303 and _source(app, "feed").push_secret == secret
    polled = client.post(f"{SOURCES}/{source_id}", data=_form(token, name="feed", url="https://example.com/a.rss"))
    assert polled.status_code == 303 and _source(app, "feed").push_secret is None
    # Back to push: a new secret, never the old one.
    back = client.post(f"{SOURCES}/{source_id}", data=_form(token, name="feed", kind="push"))
    new = _source(app, "feed").push_secret
    assert back.status_code == 200 and new and new != secret and new in back.get_data(as_text=True)


def test_the_api_shows_no_key_an_address_carries(app, worked_example):
    from core.models import ApiToken

    url = "https://reader:s3cret-pass@feeds.example.com:8443/mentions.rss?api_key=k3y-123&tag=acme"
    with app.app_context(), transaction() as session:
        hr = session.get(User, worked_example.hr)
        feed = save_source(session, hr, name="keyed", kind="rss", url=url)
        feed.failures, feed.last_error = 1, f"HTTP 403 Forbidden from {url}"
        row, token = ApiToken.issue(hr, "sources", ["org:read"])
        session.add(row)
    response = app.test_client().get("/api/v1/social/sources/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "k3y-123" not in text and "s3cret-pass" not in text and "reader" not in text
    item = response.get_json()[0]
    assert item["url"] == "https://feeds.example.com:8443/mentions.rss"
    assert item["last_error"] == "HTTP 403 Forbidden from https://feeds.example.com:8443/mentions.rss"
