"""Text no database can store (NUL, half an emoji) and JSON nested past Python's reach: each was a 500 that lost a
whole batch. An integrator's payload is refused naming the field; a helpdesk's delivery is mended."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from core.models import ApiToken, Feedback, Integration, Ticket
from core.storable_text import mended, unstorable_text
from tests.fixtures.payloads import survey

BATCH = "/api/v1/channels/post_ticket_survey/feedback/batch"
HALF_AN_EMOJI = "\\ud83d"  # as JSON writes it: the first half of 😀 (\ud83d\ude00) alone


@pytest.fixture
def auth(session, create_user):
    user = create_user("bot@example.com", roles=["admin", "hr"])
    token, plain = ApiToken.issue(user, "test", ["feedback:write", "feedback:read", "appraisal:write",
                                                 "guidelines:write"])
    session.add(token)
    session.commit()
    return {"Authorization": f"Bearer {plain}", "Content-Type": "application/json"}


def _with(payload: dict, field: str, escaped: str) -> str:
    """``payload`` as JSON with ``field`` (a.b for nested) holding ``escaped``, written as JSON text."""
    marker = "@@here@@"
    *parents, last = field.split(".")
    into = payload
    for name in parents:
        into = into[name]
    into[last] = marker
    return json.dumps(payload).replace(marker, escaped)


def test_each_bad_item_is_refused_naming_its_field_and_the_good_ones_are_stored(client, session, auth):
    items = [json.dumps(survey("good")),
             _with(survey("half-comment"), "comment", f"nice {HALF_AN_EMOJI}"),
             _with(survey("nul-comment"), "comment", "a\\u0000b"),
             _with(survey("half-agent"), "agent.id", HALF_AN_EMOJI),
             _with(survey("whole-emoji"), "comment", "\\ud83d\\ude00 thanks")]
    response = client.post(BATCH, data=f"[{', '.join(items)}]", headers=auth)

    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert [item["external_id"] for item in report["created"]] == ["good", "whole-emoji"]
    assert {item["index"]: item["errors"] for item in report["rejected"]} == {
        1: {"comment": ["holds half of a character (a lone \\ud83d escape): send the whole character, or none"]},
        2: {"comment": ["must not contain NUL characters"]},
        3: {"agent.id": ["holds half of a character (a lone \\ud83d escape): send the whole character, or none"]},
    }
    stored = dict(session.execute(select(Feedback.external_id, Feedback.comment)).all())
    assert stored == {"good": None, "whole-emoji": "😀 thanks"}


def test_json_nested_too_deeply_is_a_400_not_a_500(client, auth):
    deep = "[" * 100_000 + "]" * 100_000
    for url in (BATCH, "/api/v1/runs/", "/api/v1/guidelines/"):
        response = client.post(url, data=deep, headers=auth)
        assert response.status_code == 400, url
        assert response.get_json()["message"] == "the body is not valid JSON: it is nested too deeply"
    # Deep, but not too deep for the parser: what reads it afterwards must not recurse past Python's stack.
    for depth in (600, 900):
        nested = "[" * depth + "]" * depth
        for url, body in ((BATCH, f'[{{"response_id": "deep", "comment": {nested}}}]'),
                          ("/api/v1/guidelines/", f'{{"document": {{"title": {nested}}}}}')):
            response = client.post(url, data=body, headers=auth)
            assert response.status_code in (400, 422), (url, depth, response.get_data(as_text=True)[:200])


def test_notes_and_documents_name_the_field_that_holds_half_a_character(client, auth):
    body = '{"document": {"title": "x' + HALF_AN_EMOJI + '"}, "note": "why ' + HALF_AN_EMOJI + '"}'
    response = client.post("/api/v1/guidelines/", data=body, headers=auth)
    assert response.status_code == 422
    assert "note" in response.get_json()["errors"]["json"]
    document = client.post("/api/v1/guidelines/", data='{"document": {"title": "x' + HALF_AN_EMOJI + '"}}',
                           headers=auth)
    assert document.status_code == 422
    assert document.get_json()["errors"]["json"]["document"] == {
        "title": ["holds half of a character (a lone \\ud83d escape): send the whole character, or none"]}


def test_a_helpdesk_delivery_with_half_an_emoji_is_mended_not_lost(client, session):
    secret = "whsec-test-0123456789"
    integration = Integration(provider="generic", name="Desk", webhook_secret=secret,
                              settings={"namespace": "ourdesk"})
    session.add(integration)
    session.commit()
    body = ('{"provider": "ourdesk", "ticket": {"id": "T-9", "subject": "Broken ' + HALF_AN_EMOJI + '\\u0000",'
            ' "status": "open", "opened_at": "2026-11-02T09:00:00+00:00"},'
            ' "ratings": [{"response_id": "ourdesk:r-9", "kind": "csat", "rating": 2, "scale": [1, 5],'
            ' "answered_at": "2026-11-02T10:00:00+00:00", "comment": "slow ' + HALF_AN_EMOJI + '"}]}').encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(f"/channels/post_ticket_survey/webhooks/{integration.id}", data=body,
                           headers={"X-Plaudit-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_json()
    assert session.scalar(select(Ticket.subject)) == "Broken \ufffd\ufffd"
    assert session.scalar(select(Feedback.comment)) == "slow \ufffd"


def test_where_the_unstorable_text_is_and_how_it_is_mended():
    payload = {"a": [{"b": "x\ud83d"}], "c": "a\x00b", "d": "back\\u0000slash, as written", "e": "😀", "f": 3}
    assert dict(unstorable_text(payload)) == {
        "a.0.b": "holds half of a character (a lone \\ud83d escape): send the whole character, or none",
        "c": "must not contain NUL characters"}
    assert list(unstorable_text({"ok": ["fine", 1, None]})) == []
    assert mended(payload)["a"] == [{"b": "x\ufffd"}] and mended(payload)["c"] == "a\ufffdb"
    assert mended(payload)["e"] == "😀"
