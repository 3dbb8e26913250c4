"""A forgotten password: a link by e-mail (a real SMTP server here), good once and for an hour."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from core import password_reset
from core.db import transaction
from core.models import AuditEntry, User
from tests.fixtures.org import PASSWORD, csrf_token, post_form, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")


@pytest.fixture
def mailed(mail_app, smtp_server, create_user):
    app = mail_app()
    with app.app_context():
        create_user("eve@example.com", roles=["employee"])
    return app, smtp_server[0]


def _link(inbox) -> str:
    body = inbox.messages[-1].get_payload(decode=True).decode()
    return re.search(r"https://plaudit\.example\.com(/password/reset\?token=\S+)", body).group(1)


def _set(client, link: str, password: str, again: str | None = None):
    page = client.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/password/reset", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                "token": token, "password": password, "again": again or password})


def test_a_forgotten_password_is_set_again_through_the_link_which_then_stops_working(mailed, caplog):
    caplog.set_level(logging.DEBUG)
    app, inbox = mailed
    client = app.test_client()
    assert 'href="/password/forgotten"' in client.get("/login").get_data(as_text=True)
    answer = post_form(client, "/password/forgotten", {"email": "EVE@example.com"})
    assert answer.status_code == 303
    assert "a link to set a new password is on its way" in client.get("/login").get_data(as_text=True)
    [message] = inbox.messages
    assert message["To"] == "eve@example.com" and message["Subject"] == "Set a new Plaudit password"
    link = _link(inbox)
    assert _set(client, link, "a fresh secret", "another").status_code == 400  # the two differ: not set
    assert _set(client, link, "a fresh secret").status_code == 303
    assert sign_in(app.test_client(), "eve@example.com", "a fresh secret").status_code == 302
    assert sign_in(app.test_client(), "eve@example.com", PASSWORD).status_code == 401
    used = client.get(link)
    assert used.status_code == 400 and "This link does not work" in used.get_data(as_text=True)
    with app.app_context(), transaction() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "users")
                                  .order_by(AuditEntry.id)).all()
    assert actions == ["user.password_link_asked", "user.password_reset"]
    token = link.partition("token=")[2]
    assert token not in caplog.text and "a fresh secret" not in caplog.text


def test_an_unknown_address_is_answered_alike_and_sent_nothing(mailed):
    app, inbox = mailed
    client = app.test_client()
    answer = post_form(client, "/password/forgotten", {"email": "nobody@example.com"})
    assert answer.status_code == 303 and inbox.messages == []
    assert "If nobody@example.com signs in to Plaudit" in client.get("/login").get_data(as_text=True)


def test_a_mailbox_is_not_flooded_from_the_page(mailed):
    app, inbox = mailed
    client = app.test_client()
    for _ in range(password_reset.ASKS_PER_HOUR + 2):
        assert post_form(client, "/password/forgotten", {"email": "eve@example.com"}).status_code == 303
    assert len(inbox.messages) == password_reset.ASKS_PER_HOUR


def test_an_expired_or_forged_link_does_not_work(mailed, monkeypatch):
    app, inbox = mailed
    client = app.test_client()
    post_form(client, "/password/forgotten", {"email": "eve@example.com"})
    link = _link(inbox)
    assert client.get(link[:-3] + "abc").status_code == 400
    monkeypatch.setattr(password_reset, "LINK_LIFETIME", -1)
    assert client.get(link).status_code == 400


def test_without_mail_the_page_says_to_ask_an_admin(app):
    page = app.test_client().get("/password/forgotten").get_data(as_text=True)
    assert "ask an admin to give you a new password" in page and 'name="email"' not in page


def test_the_links_page_sends_no_referer_and_is_not_cached(mailed):
    app, inbox = mailed
    client = app.test_client()
    post_form(client, "/password/forgotten", {"email": "eve@example.com"})
    page = client.get(_link(inbox))
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"


def test_a_link_sent_before_the_address_changed_does_not_work(mailed):
    app, inbox = mailed
    client = app.test_client()
    post_form(client, "/password/forgotten", {"email": "eve@example.com"})
    with app.app_context(), transaction() as session:
        session.scalar(select(User).where(User.email == "eve@example.com")).email = "eve.new@example.com"
    assert client.get(_link(inbox)).status_code == 400
