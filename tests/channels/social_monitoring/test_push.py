"""The push endpoint: posts signed with a push source's secret (real HMAC-SHA256) through the app's client."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from sqlalchemy import select

from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.sources import rotate_push_secret, save_source
from core.db import transaction
from core.models import AuditEntry, Feedback, User
from tests.fixtures.app import row_counts

POST = {"external_id": "t1", "posted_at": "2026-11-20T10:00:00+00:00", "text": "Thanks @AcmeCare, sorted in minutes",
        "author": "carla", "handles": ["AcmeCare"]}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def hr(app, make_hr):
    return make_hr(app)


@pytest.fixture
def push_source(app, hr):
    """Make a push source; return (name, secret)."""
    def make(name: str = "brand-push", **fields) -> tuple[str, str]:
        with app.app_context(), transaction() as session:
            source = save_source(session, session.get(User, hr), name=name, kind="push", **fields)
            return source.name, source.push_secret
    return make


@pytest.fixture
def push(app):
    client = app.test_client()

    def send(name: str, body, secret: str | None, header: str | None = None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None or header is not None:
            headers["X-Plaudit-Signature"] = header if header is not None else sign(secret, raw)
        return client.post(f"/channels/social_monitoring/push/{name}", data=raw, headers=headers)
    return send


def _stored(app) -> dict[str, Feedback]:
    with app.app_context(), transaction() as session:
        items = session.scalars(select(Feedback).where(Feedback.channel == "social_monitoring")).all()
        session.expunge_all()
        return {item.external_id: item for item in items}


def test_a_signed_post_is_stored_under_the_source_it_was_signed_for(app, push_source, push, caplog):
    name, secret = push_source()
    assert secret and len(secret) >= 32
    caplog.set_level(logging.DEBUG)
    # The body claims another source: it is stored under the one whose secret signed it.
    response = push(name, {**POST, "source": "someone-else"}, secret)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 1, "duplicates": [], "not_relevant": [], "rejected": []}
    item = _stored(app)["brand-push:t1"]
    assert item.payload["source"] == "brand-push" and item.value > 0 and item.comment == POST["text"]
    assert secret not in caplog.text  # never logged

    again = push(name, [POST, {**POST, "external_id": "t2"}], secret)
    assert again.status_code == 200
    assert again.get_json() == {"created": 1, "duplicates": [0], "not_relevant": [], "rejected": []}
    assert sorted(_stored(app)) == ["brand-push:t1", "brand-push:t2"]


def test_missing_or_wrong_signatures_are_401_and_store_nothing(app, push_source, push):
    name, secret = push_source()
    before = row_counts(app)
    body = json.dumps(POST).encode()
    assert push(name, body, None).status_code == 401
    assert push(name, body, "not-the-secret").status_code == 401
    assert push(name, body, None, header=sign(secret, body + b" ")).status_code == 401  # signed another body
    assert push(name, body, None, header=sign(secret, body).removeprefix("sha256=")).status_code == 401
    assert "X-Plaudit-Signature" in push(name, body, None).get_json()["message"]
    assert row_counts(app) == before


def test_a_replaced_secret_stops_working_at_once(app, hr, push_source, push):
    name, old = push_source()
    with app.app_context(), transaction() as session:
        source_id = session.scalar(select(AuditEntry.entity_id).where(AuditEntry.entity_type == "sm_sources"))
        new = rotate_push_secret(session, session.get(User, hr), int(source_id)).push_secret
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "sm_sources")
                                       .order_by(AuditEntry.id)))
        audited = json.dumps([e.after for e in session.scalars(select(AuditEntry))], default=str)
    assert actions == ["social_source.created", "social_source.secret_rotated"]
    assert old not in audited and new not in audited
    assert new != old
    assert push(name, POST, old).status_code == 401
    assert push(name, POST, new).status_code == 200


def test_unknown_inactive_or_polled_sources_are_404(app, hr, push_source, push):
    name, secret = push_source()
    with app.app_context(), transaction() as session:
        actor = session.get(User, hr)
        save_source(session, actor, name="feed", kind="rss", url="https://example.com/feed.rss")
        save_source(session, actor, name="off", kind="push", active=False)
    assert push("nobody", POST, secret).status_code == 404
    assert push("feed", POST, secret).status_code == 404
    assert push("off", POST, secret).status_code == 404
    assert push(name, POST, secret).status_code == 200


def test_bad_bodies_are_400_naming_the_fields(app, push_source, push):
    name, secret = push_source()
    before = row_counts(app)
    not_json = push(name, b"{not json", secret)
    assert not_json.status_code == 400 and "body" in not_json.get_json()["errors"]
    assert push(name, [], secret).status_code == 400
    every_one_bad = push(name, [{"text": "no id"}, 42], secret)
    assert every_one_bad.status_code == 400
    rejected = every_one_bad.get_json()["rejected"]
    assert [r["index"] for r in rejected] == [0, 1]
    assert {"external_id", "posted_at"} <= set(rejected[0]["errors"]) and "_schema" in rejected[1]["errors"]
    assert row_counts(app) == before

    # Refused items are reported by index; the accepted ones are stored.
    mixed = push(name, [POST, {**POST, "external_id": "t9", "posted_at": "yesterday"}], secret)
    assert mixed.status_code == 200
    body = mixed.get_json()
    assert body["created"] == 1 and body["rejected"] == [{"index": 1, "errors": {"posted_at": ["Not a valid datetime."]}}]
    assert sorted(_stored(app)) == ["brand-push:t1"]


def test_posts_that_name_no_watched_keyword_or_handle_are_reported_not_stored(app, push_source, push):
    name, secret = push_source(keywords=["refund"], handles=["acmecare"])
    response = push(name, [POST,  # names @AcmeCare
                           {**POST, "external_id": "t2", "text": "Where is my Refund?", "handles": []},
                           {**POST, "external_id": "t3", "text": "Nice weather", "handles": []}], secret)
    assert response.status_code == 200
    assert response.get_json() == {"created": 2, "duplicates": [], "not_relevant": [2], "rejected": []}
    assert sorted(_stored(app)) == ["brand-push:t1", "brand-push:t2"]


def test_an_oversized_delivery_is_413_in_json(make_app, make_hr):
    small = make_app(MAX_CONTENT_LENGTH=2048)
    hr = make_hr(small)
    with small.app_context(), transaction() as session:
        secret = save_source(session, session.get(User, hr), name="big", kind="push").push_secret
    raw = json.dumps([{**POST, "external_id": f"x{i}"} for i in range(40)]).encode()
    response = small.test_client().post("/channels/social_monitoring/push/big", data=raw, headers={
        "Content-Type": "application/json", "X-Plaudit-Signature": sign(secret, raw)})
    # A platform reads the refusal as it reads every other answer of the endpoint, not as a page.
    assert response.status_code == 413 and response.is_json and response.get_json()["code"] == 413


def test_a_wrong_method_or_a_switched_off_channel_is_answered_in_json(app, make_app, push_source, make_hr):
    name, _ = push_source()
    wrong_method = app.test_client().get(f"/channels/social_monitoring/push/{name}")
    assert wrong_method.status_code == 405 and wrong_method.is_json and wrong_method.get_json()["code"] == 405
    without = make_app(PLUGINS_BLOCKED=["social_monitoring"])
    off = without.test_client().post(f"/channels/social_monitoring/push/{name}", data=b"{}")
    assert off.status_code == 404 and off.is_json
    assert not app.test_client().get("/channels/social_monitoring/nowhere").is_json  # pages stay pages


def test_more_posts_than_a_batch_takes_are_413(make_app, make_hr):
    capped = make_app(INGEST_BATCH_LIMIT=2)
    hr = make_hr(capped)
    with capped.app_context(), transaction() as session:
        secret = save_source(session, session.get(User, hr), name="capped", kind="push").push_secret
    before = row_counts(capped)
    raw = json.dumps([{**POST, "external_id": f"x{i}"} for i in range(3)]).encode()
    response = capped.test_client().post("/channels/social_monitoring/push/capped", data=raw, headers={
        "Content-Type": "application/json", "X-Plaudit-Signature": sign(secret, raw)})
    assert response.status_code == 413 and "PLAUDIT_INGEST_BATCH_LIMIT" in response.get_json()["errors"]["body"][0]
    assert row_counts(capped) == before


def test_a_post_by_a_watched_handle_is_a_brand_reply_whatever_the_body_says(app, push_source, push):
    name, secret = push_source(handles=["@AcmeCare"])
    reply = {**POST, "external_id": "r1", "author": "@ACMECARE", "brand_reply": False, "handles": [],
             "text": "So sorry, a refund is on its way ^RR"}
    assert push(name, [POST, reply], secret).get_json()["created"] == 2
    stored = _stored(app)
    assert stored["brand-push:r1"].kind == "social_reply" and stored["brand-push:t1"].kind == "social_mention"


def test_a_push_source_without_a_secret_yet_is_told_to_replace_it(app, push_source, push):
    # Push sources made before secrets were kept (migration 0010) have none.
    name, secret = push_source()
    with app.app_context(), transaction() as session:
        session.scalar(select(SocialSource).where(SocialSource.name == name)).push_secret = None
    before = row_counts(app)
    response = push(name, POST, secret)
    assert response.status_code == 401 and response.is_json
    message = response.get_json()["message"]
    assert "has no secret yet" in message and "sources page" in message
    assert push(name, POST, None).status_code == 401
    assert row_counts(app) == before
