"""Admins issue and revoke API tokens on the web: shown once, every field at fault named, audited, never logged."""
from __future__ import annotations

import logging
import re

from sqlalchemy import func, select

from core.db import transaction
from core.models import ApiToken, User
from tests.fixtures.org import csrf_token
from tests.web.admin_support import PASSWORD_HASH, audited

PAGE = "/admin/tokens"


def _page(client) -> str:
    return client.get(PAGE).get_data(as_text=True)


def _tokens(app) -> int:
    with app.app_context(), transaction() as session:
        return session.scalar(select(func.count()).select_from(ApiToken))


def test_an_admin_issues_a_token_seen_once_that_works_and_revokes_it(app, client, login, accounts, caplog):
    caplog.set_level(logging.DEBUG)
    login("admin@example.com")
    answer = client.post(PAGE, data={"csrf_token": csrf_token(_page(client)), "owner": "HR@example.com ",
                                     "name": "zendesk bridge", "scopes": ["org:read", "feedback:write"],
                                     "days": "30"})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    plain = re.search(r'<code class="secret" data-token>(pld_[\w-]+)</code>', html).group(1)
    assert "cannot show it again" in html and "It acts for hr@example.com and stops working on" in " ".join(
        html.split())
    # Once: the list shows its prefix only, and no log line or cookie ever held it
    listed = _page(client)
    assert plain not in listed and f"<code>{plain[:12]}…</code>" in listed and "zendesk bridge" in listed
    assert plain not in caplog.text and all(plain not in cookie.value for cookie in client._cookies.values())
    with app.app_context(), transaction() as session:
        token = session.scalar(select(ApiToken))
        assert (token.user.email, token.scopes, token.name) == ("hr@example.com", ["feedback:write", "org:read"],
                                                                "zendesk bridge")
        token_id = token.id
    [created] = audited(app, "api_token.created")
    assert created.actor_id == accounts["admin"] and created.after["prefix"] == plain[:12]
    assert plain not in str(created.after)
    bearer = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/teams/", headers=bearer).status_code == 200

    # Revoking asks twice: the button is inside a disclosure, opened first
    assert re.search(rf'<details><summary>Revoke…<span class="sr-only"> {plain[:12]}…', listed)
    revoked = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(listed)})
    assert revoked.status_code == 303
    after = _page(client)
    assert f"Token {plain[:12]}… (zendesk bridge) revoked" in after
    assert re.search(rf'<tr id="token-{token_id}"[^>]*class="off"', after) and "Revoke<span" not in after
    assert client.get("/api/v1/teams/", headers=bearer).status_code == 401
    [entry] = audited(app, "api_token.revoked")
    assert entry.actor_id == accounts["admin"]
    again = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(after)})
    assert again.status_code == 303 and "was revoked already" in _page(client)
    assert client.post("/admin/tokens/999999/revoke", data={"csrf_token": csrf_token(after)}).status_code == 404


def test_the_page_sent_again_by_a_reload_issues_no_second_token(app, client, login, accounts):
    """The answer to the POST shows the token, so a reload sends the form again: it issued a second live token
    that nobody ever saw."""
    login("admin@example.com")
    page = _page(client)
    form = {"csrf_token": csrf_token(page), "form_id": re.search(r'name="form_id" value="([\w-]+)"', page).group(1),
            "owner": "hr@example.com", "name": "bridge", "scopes": ["org:read"]}
    assert client.post(PAGE, data=form).status_code == 200
    again = client.post(PAGE, data=form)
    assert again.status_code == 400 and "this form issued its token already" in again.get_data(as_text=True)
    assert _tokens(app) == 1
    fresh = re.search(r'name="form_id" value="([\w-]+)"', again.get_data(as_text=True)).group(1)
    assert fresh != form["form_id"] and client.post(PAGE, data={**form, "form_id": fresh}).status_code == 200
    assert _tokens(app) == 2  # a second one asked for on a fresh form


def test_a_token_asked_for_wrongly_names_every_field_and_issues_nothing(app, client, login, accounts):
    login("admin@example.com")
    superscript = client.post(PAGE, data={"csrf_token": csrf_token(_page(client)), "owner": "hr@example.com",
                                          "name": "x", "scopes": ["org:read"], "days": "²"})
    assert superscript.status_code == 400 and 'href="#days"' in superscript.get_data(as_text=True)  # was a 500
    refused = client.post(PAGE, data={"csrf_token": csrf_token(_page(client)), "owner": "", "name": " ",
                                      "days": "soon"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.DOTALL).group(0)
    for field in ("owner", "name", "scopes", "days"):
        assert f'href="#{field}"' in summary, field
        assert f'id="{field}-error"' in html, field
    assert "give a number of days from 1 to 3,650" in html
    # Someone who may hold no token: an employee's account
    employee = client.post(PAGE, data={"csrf_token": csrf_token(html), "owner": "ann@example.com", "name": "x",
                                       "scopes": ["org:read"]})
    assert employee.status_code == 400 and "holds no role allowed API tokens" in employee.get_data(as_text=True)
    with app.app_context(), transaction() as session:  # a shopper's token holds the shopper's scopes only
        shopper = User(email="sam@agency.test", name="Sam", password_hash=PASSWORD_HASH)
        shopper.roles = ["shopper"]
        session.add(shopper)
    shopper = client.post(PAGE, data={"csrf_token": csrf_token(html), "owner": "sam@agency.test", "name": "agency",
                                      "scopes": ["mystery:read", "feedback:write"]})
    assert shopper.status_code == 400 and "their token may hold only mystery:read and mystery:submit" in \
        shopper.get_data(as_text=True)
    assert 'value="sam@agency.test" selected' in shopper.get_data(as_text=True)  # what was chosen is kept
    assert _tokens(app) == 0 and audited(app, "api_token.created") == []
