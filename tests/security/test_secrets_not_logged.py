"""Tokens, secrets and passwords never reach the logs, even at DEBUG, whether a request succeeds or fails."""
from __future__ import annotations

import json
import logging

from sqlalchemy import select

from channels.post_ticket_survey.helpdesks import HELPDESKS
from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.push import SIGNATURE_HEADER, signature
from channels.social_monitoring.sources import save_source
from core.auth import API_SCOPES
from core.db import transaction
from core.models import ApiToken, Integration, User
from tests.channels.post_ticket_survey.helpdesk_webhooks import signed
from tests.fixtures.org import PASSWORD, csrf_token, sign_in

WEBHOOK_SECRET = "whsec-LEAKCHECK-4f1b9c2d7e"
WRONG_PASSWORD = "pw-LEAKCHECK-wrong-guess"


def test_no_secret_appears_in_debug_logs(make_app, caplog):
    app = make_app(LOG_LEVEL="DEBUG")
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    with app.app_context(), transaction() as session:
        hr = User(email="hr@example.com", name="HR")
        hr.roles = ["hr"]
        hr.set_password(PASSWORD)
        session.add(hr)
        session.flush()
        hr_id = hr.id
        row, plain = ApiToken.issue(hr, "leak check", list(API_SCOPES))
        narrow, narrow_plain = ApiToken.issue(hr, "narrow", ["org:read"])
        session.add_all([row, narrow])
    secrets = {PASSWORD, WRONG_PASSWORD, WEBHOOK_SECRET, plain, narrow_plain}

    # Sign-in: a wrong password, then the right one.
    assert sign_in(client, "hr@example.com", WRONG_PASSWORD).status_code == 401
    assert sign_in(client, "hr@example.com").status_code == 302

    # The API with a good token, a token lacking the scope, and an unknown one.
    api = client.application.test_client()
    assert api.get("/api/v1/teams/", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    assert api.get("/api/v1/feedback/", headers={"Authorization": f"Bearer {narrow_plain}"}).status_code == 403
    assert api.get("/api/v1/teams/", headers={"Authorization": f"Bearer {plain}x"}).status_code == 401
    assert api.post("/api/v1/channels/post_ticket_survey/feedback", json={"rating": "bad"},
                    headers={"Authorization": f"Bearer {plain}"}).status_code == 422

    # Every helpdesk's webhook: signed right, signed wrong, and a malformed body signed right.
    for provider in sorted(HELPDESKS):
        with app.app_context(), transaction() as session:
            integration = Integration(provider=provider, name=f"{provider} leak", webhook_secret=WEBHOOK_SECRET,
                                      settings={"namespace": "ourdesk"} if provider == "generic" else {})
            session.add(integration)
            session.flush()
            integration_id = integration.id
        for body, secret in ((b"{}", WEBHOOK_SECRET), (b"{}", "wrong-" + WEBHOOK_SECRET), (b"{not json",
                                                                                            WEBHOOK_SECRET)):
            headers, query = signed(provider, body, secret)
            client.post(f"/channels/post_ticket_survey/webhooks/{integration_id}{query}", data=body,
                        headers={**headers, "Content-Type": "application/json"})

    # A push source: made, its secret rotated on the page, pushed to with the old and the new secret.
    with app.app_context(), transaction() as session:
        source = save_source(session, session.get(User, hr_id), name="leaky", kind="push")
        session.flush()
        source_id, old_secret = source.id, source.push_secret
    page = client.get(f"/channels/social_monitoring/sources/{source_id}").get_data(as_text=True)
    rotated = client.post(f"/channels/social_monitoring/sources/{source_id}/secret",
                          data={"csrf_token": csrf_token(page)})
    assert rotated.status_code == 200
    with app.app_context(), transaction() as session:
        new_secret = session.scalar(select(SocialSource.push_secret).where(SocialSource.id == source_id))
    assert new_secret != old_secret and new_secret in rotated.get_data(as_text=True)  # shown once, on the page
    secrets |= {old_secret, new_secret}
    body = json.dumps({"external_id": "1", "posted_at": "2026-11-03T10:00:00Z", "text": "hello"}).encode()
    for secret in (old_secret, new_secret):
        client.post("/channels/social_monitoring/push/leaky", data=body,
                    headers={SIGNATURE_HEADER: signature(secret, body), "Content-Type": "application/json"})

    logged = caplog.text
    assert caplog.records, "nothing was logged: this test would mean nothing"
    assert not [r for r in caplog.records if r.getMessage().startswith("database unavailable")]
    leaked = sorted(secret for secret in secrets if secret and (secret in logged or secret[:12] in logged))
    assert leaked == [], f"secrets in the logs: {leaked}"


def test_the_development_servers_request_log_hides_webhook_and_survey_tokens(make_app, caplog):
    """`plaudit run` and `plaudit demo` serve with Werkzeug, whose request line held Chatwoot's ?token= secret."""
    import threading
    import urllib.error
    import urllib.request

    from werkzeug.serving import make_server

    app = make_app()
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for path in (f"/channels/post_ticket_survey/webhooks/999?token={WEBHOOK_SECRET}",
                     f"/channels/post_ticket_survey/s/{WEBHOOK_SECRET}/opt-out"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", data=b"{}", timeout=10)
            except urllib.error.HTTPError:
                pass  # 404: no such integration or link; the request line is logged all the same
    finally:
        server.shutdown()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("/webhooks/999?token=[hidden]" in line for line in lines), lines
    assert any("/s/[hidden]/opt-out" in line for line in lines), lines
    assert WEBHOOK_SECRET not in caplog.text


def test_a_failed_statement_does_not_carry_its_values_into_a_traceback(app):
    """A worker's traceback printed the statement's parameters: a digest job's IntegrityError listed every
    recipient's e-mail address."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from core.models import Employee

    with pytest.raises(IntegrityError) as failure, app.app_context(), transaction() as session:
        session.add_all([Employee(name="A", email="private-LEAKCHECK@example.com"),
                         Employee(name="B", email="private-LEAKCHECK@example.com")])
    assert "LEAKCHECK" not in str(failure.value).split("[SQL:")[-1]  # the statement and its parameters
    assert "hidden due to hide_parameters" in str(failure.value)
