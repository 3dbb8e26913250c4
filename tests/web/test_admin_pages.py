"""Admin pages: integrations and their secrets, loaded plugins, jobs and queues; admins only."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from core.db import transaction
from core.models import (
    Integration,
    PendingJob,
    Ticket,
    User,
    utcnow,
)
from core.plugins import BUILTIN_PLUGINS
from tests.fixtures.app import statements_of_page
from tests.fixtures.org import csrf_token, sign_in
from tests.web.admin_support import PASSWORD_HASH, audited

PAGES = ("/admin/integrations", "/admin/plugins", "/admin/jobs")
DELIVERY = {"ticket": {"id": "T-1", "subject": "Printer on fire", "status": "open",
                       "opened_at": "2026-11-02T09:00:00+00:00"}}


def _deliver(client, integration_id: int, secret: str):
    """A generic delivery signed as the sender would sign it: HMAC-SHA256 over the raw body."""
    body = json.dumps(DELIVERY).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(f"/channels/post_ticket_survey/webhooks/{integration_id}", data=body,
                       headers={"X-Plaudit-Signature": signature, "Content-Type": "application/json"})


def _shown_secret(html: str) -> str:
    match = re.search(r'id="webhook-secret" readonly value="([^"]+)"', html)
    assert match, "the page shows no secret"
    return match.group(1)


def _followed(client, response):
    """Follow a form's 303 to the page that shows the new secret; check no secret rides along."""
    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    assert re.fullmatch(r"/admin/integrations/\d+/secret\?reveal=[\w-]{40,}", location), location
    return client.get(location)


def _secret_of(app, integration_id: int) -> str:
    with app.app_context(), transaction() as session:
        return session.get(Integration, integration_id).webhook_secret


def _token(client) -> str:
    return csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))  # an employee: their report


def test_only_admins_may_open_or_use_the_admin_pages(client, login, accounts):
    for email in ("hr@example.com", "mia@example.com", "ann@example.com"):
        login(email)
        token = _token(client)
        for page in PAGES:
            assert client.get(page).status_code == 403, (email, page)
        for action in ("/admin/integrations", "/admin/integrations/1/secret", "/admin/integrations/1/active",
                       "/admin/jobs/dispatch"):
            assert client.post(action, data={"csrf_token": token, "name": "x", "provider": "generic",
                                             "active": "0"}).status_code == 403, (email, action)
        client.post("/logout", data={"csrf_token": token})
    login("admin@example.com")
    for page in PAGES:
        assert client.get(page).status_code == 200, page
    with client.application.app_context(), transaction() as session:
        assert session.scalar(select(func.count()).select_from(Integration)) == 0


def test_a_new_secret_verifies_deliveries_and_a_replaced_one_stops(app, client, login, accounts, caplog):
    caplog.set_level(logging.DEBUG)
    login("admin@example.com")
    page = client.get("/admin/integrations").get_data(as_text=True)
    posted = client.post("/admin/integrations", data={
        "csrf_token": csrf_token(page), "provider": "generic", "name": "Our desk", "namespace": "ourdesk",
        "surveys": "y", "delivery": "link", "sampling": "census"})
    created = _followed(client, posted)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    assert "Our desk: connected" in created.get_data(as_text=True)
    first = _shown_secret(created.get_data(as_text=True))
    with app.app_context(), transaction() as session:
        integration = session.scalar(select(Integration))
        integration_id = integration.id
        assert (integration.provider, integration.settings["namespace"]) == ("generic", "ourdesk")
        assert integration.settings["survey"]["delivery"] == "link"
        assert first not in json.dumps(integration.settings)  # the reveal holds hashes only
    assert f"http://127.0.0.1:5000/channels/post_ticket_survey/webhooks/{integration_id}" in \
        created.get_data(as_text=True)  # the URL to paste into the helpdesk, from PLAUDIT_PUBLIC_URL

    assert _deliver(client, integration_id, first).status_code == 200
    listing = client.get("/admin/integrations").get_data(as_text=True)
    assert "Our desk" in listing and first not in listing and f"••••••••{first[-4:]}" in listing
    assert "not yet" not in listing  # the delivery's ticket counts as activity

    rotation = client.post(f"/admin/integrations/{integration_id}/secret",
                           data={f"secret{integration_id}-csrf_token": csrf_token(listing)})
    rotated = _followed(client, rotation)
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    second = _shown_secret(rotated.get_data(as_text=True))
    assert second != first and len(second) >= 32 and _secret_of(app, integration_id) == second

    assert _deliver(client, integration_id, first).status_code == 401
    assert _deliver(client, integration_id, second).status_code == 200
    listing = client.get("/admin/integrations").get_data(as_text=True)
    assert first not in listing and second not in listing

    [made] = audited(app, "integration.created")
    [replaced] = audited(app, "integration.secret_rotated")
    admin = accounts["admin"]
    assert (made.actor_id, made.entity_id, made.after["name"], made.after["secret"]) == (
        admin, str(integration_id), "Our desk", "generated")
    assert (replaced.actor_id, replaced.after) == (admin, {"secret": "generated"})
    assert [e.actor_id for e in audited(app, "integration.secret_shown")] == [admin, admin]
    everything_audited = json.dumps([e.after for e in audited(app, "integration.created") + [replaced]])
    logged = caplog.text
    assert "integration" in logged  # the actions were logged ...
    for secret in (first, second):  # ... but never a secret
        assert secret not in logged and secret not in everything_audited


def test_the_page_after_a_replacement_shows_the_secret_once_and_a_reload_replaces_nothing(
        app, client, login, accounts, caplog):
    caplog.set_level(logging.DEBUG)
    login("admin@example.com")
    token = _token(client)
    created = client.post("/admin/integrations", data={"csrf_token": token, "provider": "chatwoot",
                                                       "name": "Chat", "sampling": "census", "delivery": "email"})
    assert client.head(created.headers["Location"]).status_code == 200  # a prefetcher: it spends nothing
    first_page = _followed(client, created)
    first = _shown_secret(first_page.get_data(as_text=True))
    assert f"?token={first}" in first_page.get_data(as_text=True)  # Chatwoot's URL carries it, once
    again = client.get(created.headers["Location"])  # a reload of the page after creation
    assert again.status_code == 200 and first not in again.get_data(as_text=True)
    with app.app_context(), transaction() as session:
        integration_id = session.scalar(select(Integration.id))

    rotation = client.post(f"/admin/integrations/{integration_id}/secret",
                           data={f"secret{integration_id}-csrf_token": token})
    location = rotation.headers["Location"]
    shown = _followed(client, rotation)
    second = _shown_secret(shown.get_data(as_text=True))
    assert second == _secret_of(app, integration_id) != first

    for _ in range(2):  # reloading: the secret is not shown again, and nothing is replaced
        reloaded = client.get(location)
        html = reloaded.get_data(as_text=True)
        assert reloaded.status_code == 200 and reloaded.headers["Cache-Control"] == "no-store"
        assert second not in html and 'id="webhook-secret"' not in html
        assert "was shown once, at" in html and "replace the secret again below" in html
        assert f'action="/admin/integrations/{integration_id}/secret"' in html  # how to replace it again
    assert _secret_of(app, integration_id) == second
    assert len(audited(app, "integration.secret_rotated")) == 1
    assert len(audited(app, "integration.secret_shown")) == 2  # once after creation, once after replacement

    # The secret never travels in a URL, a Location header, a cookie or a log.
    cookies = " ".join(f"{c.key}={c.value}" for c in client._cookies.values())
    for secret in (first, second):
        assert secret not in location and secret not in created.headers["Location"] and secret not in cookies
        assert secret not in caplog.text
    bare = client.get(f"/admin/integrations/{integration_id}/secret")
    assert bare.status_code == 200 and second not in bare.get_data(as_text=True)
    assert "this address shows no secret" in bare.get_data(as_text=True)


def test_a_reveal_shows_nothing_to_another_admin_or_once_it_expired(app, client, login, accounts):
    with app.app_context(), transaction() as session:
        other = User(email="root@example.com", name="Root", password_hash=PASSWORD_HASH)
        other.roles = ["admin"]
        session.add(other)
    login("admin@example.com")
    created = client.post("/admin/integrations", data={"csrf_token": _token(client), "provider": "generic",
                                                       "name": "Desk", "sampling": "census", "delivery": "email"})
    location = created.headers["Location"]
    with app.app_context(), transaction() as session:
        integration_id = session.scalar(select(Integration.id))
    secret = _secret_of(app, integration_id)

    stranger = app.test_client()
    assert sign_in(stranger, "root@example.com").status_code == 302
    html = stranger.get(location).get_data(as_text=True)
    assert secret not in html and "this address shows no secret" in html
    forged = client.get(f"/admin/integrations/{integration_id}/secret?reveal=" + "x" * 43)
    assert secret not in forged.get_data(as_text=True)

    with app.app_context(), transaction() as session:  # ten minutes later
        integration = session.get(Integration, integration_id)
        reveal = integration.settings["reveal"]
        integration.settings = {**integration.settings,
                                "reveal": {**reveal, "until": (utcnow() - timedelta(seconds=1)).isoformat()}}
    late = client.get(location).get_data(as_text=True)
    assert secret not in late and "that time is over" in late
    assert audited(app, "integration.secret_shown") == []


def test_the_helpdesks_own_secret_is_kept_and_never_shown(app, client, login, accounts):
    login("admin@example.com")
    page = client.get("/admin/integrations").get_data(as_text=True)
    own = "zendesk-made-signing-secret-0123"
    posted = client.post("/admin/integrations", data={
        "csrf_token": csrf_token(page), "provider": "generic", "name": "Own", "helpdesk_secret": own,
        "sampling": "census", "delivery": "email"})
    created = _followed(client, posted)
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and own not in html and 'id="webhook-secret"' not in html
    assert "own secret you entered is kept" in html and own not in posted.headers["Location"]
    with app.app_context(), transaction() as session:
        integration_id = session.scalar(select(Integration.id))
    assert _deliver(client, integration_id, own).status_code == 200

    token, field = csrf_token(html), f"secret{integration_id}-helpdesk_secret"
    refused = client.post(f"/admin/integrations/{integration_id}/secret",
                          data={f"secret{integration_id}-csrf_token": token, field: "too-short"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "16 to 255 characters" in page and f'id="{field}-error"' in page
    assert "too-short" not in page and own not in page
    reset = "zendesk-reset-signing-secret-4567"  # reset in the helpdesk, pasted here
    replaced = client.post(f"/admin/integrations/{integration_id}/secret",
                           data={f"secret{integration_id}-csrf_token": token, field: reset})
    assert reset not in replaced.headers["Location"]
    assert reset not in _followed(client, replaced).get_data(as_text=True)
    assert _deliver(client, integration_id, own).status_code == 401
    assert _deliver(client, integration_id, reset).status_code == 200
    assert [e.after for e in audited(app, "integration.secret_rotated")] == [{"secret": "the helpdesk's"}]
    assert audited(app, "integration.secret_shown") == []


def test_the_form_says_which_helpdesk_each_field_is_for_and_the_list_shows_the_sampling(
        app, client, login, accounts):
    login("admin@example.com")
    token = _token(client)
    for name, sampling in (("Shared", {"sampling": "percent", "percent": "25"}),
                           ("Capped", {"sampling": "quota", "quota_per_week": "7", "max_age_days": "3"}),
                           ("Every", {"sampling": "census"})):
        assert client.post("/admin/integrations", data={"csrf_token": token, "provider": "zendesk", "name": name,
                                                        "delivery": "email", "surveys": "y",
                                                        **sampling}).status_code == 303
    html = client.get("/admin/integrations").get_data(as_text=True)
    # No mail server yet: "by e-mail" would be untrue, and Zendesk drops the links handed back.
    assert "No mail server is set (<code>PLAUDIT_MAIL_SERVER</code>)" in html
    assert "every solve, solved within 14 days, by e-mail once a mail server is set; until then, link handed back" \
        in html
    app.config["MAIL_SERVER"] = "mail.example.com"
    html = client.get("/admin/integrations").get_data(as_text=True)
    assert "No mail server is set" not in html
    assert "25 % of solves, solved within 14 days, by e-mail</td>" in html
    assert "up to 7 per agent a week, solved within 3 days, by e-mail</td>" in html
    assert "every solve, solved within 14 days, by e-mail</td>" in html
    assert client.post("/admin/integrations", data={"csrf_token": token, "provider": "zendesk", "name": "Old",
                                                    "delivery": "email", "surveys": "y", "sampling": "census",
                                                    "max_age_days": "400"}).status_code == 422
    assert "Zendesk only" in html and "Generic JSON only" in html and "Every other helpdesk" in html
    assert "Only with “a share of them”" in html and "Only with “up to a number per agent a week”" in html
    # Three Zendesk integrations store tickets under one name (here an imported one): each row says so, and
    # no footnote mark is left without its note.
    with app.app_context(), transaction() as session:
        session.add(Ticket(provider="zendesk", external_id="9", updated_at=utcnow()))
    html = client.get("/admin/integrations").get_data(as_text=True)
    assert html.count("several store tickets as zendesk") == 3 and "*" not in re.sub(r"<[^>]*>", "", html)


def test_each_integration_page_says_what_to_set_in_its_helpdesk(app, client, login, accounts):
    """The page said how deliveries are proved, not where to set it, nor Freshdesk's Advanced body without
    which every delivery was a 422; and the list had no way back to it."""
    login("admin@example.com")
    token = _token(client)
    pages = {}
    for provider in ("zendesk", "freshdesk", "chatwoot"):
        created = client.post("/admin/integrations", data={"csrf_token": token, "provider": provider,
                                                           "name": provider.title(), "delivery": "email",
                                                           "surveys": "y", "sampling": "census"})
        pages[provider] = created.location.split("?")[0]  # the page, without the one-time reveal
    listing = client.get("/admin/integrations").get_data(as_text=True)
    for provider, location in pages.items():
        assert f'<a href="{location}"' in listing, provider
    zendesk = client.get(pages["zendesk"]).get_data(as_text=True)
    assert "X-Zendesk-Webhook-Signature-Timestamp" in zendesk and "more than 5 minutes" in zendesk
    assert "Reset the webhook&#39;s signing secret in Zendesk" in zendesk
    freshdesk = client.get(pages["freshdesk"]).get_data(as_text=True)
    assert "<strong>Advanced</strong>" in freshdesk and "<code>X-Plaudit-Token</code>" in freshdesk
    assert "Zendesk" not in freshdesk.split("<main")[1]  # no other helpdesk's advice
    assert "<em>Message updated</em>" in client.get(pages["chatwoot"]).get_data(as_text=True)


def test_bad_input_names_the_field_and_writes_nothing(app, client, login, accounts):
    login("admin@example.com")
    token = _token(client)
    base = {"csrf_token": token, "provider": "generic", "name": "Desk", "sampling": "census", "delivery": "email"}
    assert client.post("/admin/integrations", data=base).status_code == 303
    cases = [
        ({"name": ""}, "Give the integration a name."),
        ({"name": "desk"}, "already named"),
        ({"provider": "zendesk", "name": "Z", "namespace": "ourdesk"}, "Only a generic integration takes a namespace"),
        ({"name": "G", "namespace": "Not Snake"}, "snake_case"),
        ({"name": "G", "namespace": "zendesk"}, "snake_case"),
        ({"provider": "telex", "name": "T"}, "Not a valid choice"),
        ({"name": "P", "sampling": "percent", "percent": "140"}, "give a share (%) from 0 to 100"),
        ({"name": "Q", "sampling": "quota", "quota_per_week": "lots"}, "Not a valid integer value"),
        ({"name": "S", "helpdesk_secret": "short"}, "16 to 255 characters"),
    ]
    for change, message in cases:
        response = client.post("/admin/integrations", data={**base, **change})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, change
        assert message in html and 'aria-invalid="true"' in html, (change, message)
        assert "short" not in html  # a typed secret is not echoed back
    # Every field at fault at once: the namespace and the survey settings were told only in a second round.
    everything = client.post("/admin/integrations", data={
        **base, "provider": "freshdesk", "name": "Fresh", "namespace": "ourdesk", "helpdesk_secret": "short", "sampling": "quota",
        "quota_per_week": "abc", "max_age_days": "0"}).get_data(as_text=True)
    for message in ("Only a generic integration takes a namespace", "16 to 255 characters",
                    "Not a valid integer value", "give a number of days from 1 to 365"):
        assert message in everything, message
    assert everything.count('aria-invalid="true"') == 4
    with app.app_context(), transaction() as session:
        assert session.scalar(select(func.count()).select_from(Integration)) == 1
    assert len(audited(app, "integration.created")) == 1
    assert client.post("/admin/integrations/999/secret", data={"csrf_token": token}).status_code == 404


def test_an_integration_switched_off_refuses_deliveries_until_switched_on(app, client, login, accounts):
    login("admin@example.com")
    token = _token(client)
    created = client.post("/admin/integrations", data={"csrf_token": token, "provider": "generic",
                                                       "name": "Desk", "sampling": "census", "delivery": "email"})
    secret = _shown_secret(_followed(client, created).get_data(as_text=True))
    with app.app_context(), transaction() as session:
        integration_id = session.scalar(select(Integration.id))
    url = f"/admin/integrations/{integration_id}/active"
    # asked first, with what it costs: a stray click refused every delivery at once
    listing = client.get("/admin/integrations").get_data(as_text=True)
    assert "<summary>Switch off</summary>" in listing and "is refused (404)" in listing
    assert "Switch Desk off</button>" in listing
    assert client.post(url, data={"csrf_token": token, "active": "0"}).status_code == 303
    assert _deliver(client, integration_id, secret).status_code == 404
    assert "Switch on" in client.get("/admin/integrations").get_data(as_text=True)
    refused = client.post(url, data={"csrf_token": token, "active": "maybe"})
    assert refused.status_code == 400 and "active: send 1" in refused.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": token, "active": "1"}).status_code == 303
    assert _deliver(client, integration_id, secret).status_code == 200
    assert [(e.before, e.after) for e in audited(app, "integration.disabled") + audited(app, "integration.enabled")] \
        == [({"active": True}, {"active": False}), ({"active": False}, {"active": True})]


def test_the_plugins_page_lists_the_builtins_with_their_hooks(client, login, accounts):
    login("admin@example.com")
    html = client.get("/admin/plugins").get_data(as_text=True)

    def section(name: str) -> str:
        match = re.search(rf'<section class="card plugin" id="plugin-{name}">(.*?)</section>', html, re.DOTALL)
        assert match, f"no section for plugin {name}"
        return match.group(1)

    for name, module in BUILTIN_PLUGINS.items():
        assert f"built-in ({module})" in section(name)
    assert '<code class="hook">feedback_ingested</code>' in section("alerts")
    survey = section("post_ticket_survey")
    for text in ("register_channels", "register_commands", "post_ticket_survey (", "ticket_metrics (",
                 "plaudit integrations"):
        assert text in survey, text
    assert "csat_percent" in section("survey_scores") and "register_scoring_rules" in section("survey_scores")
    assert "self_rating" in section("integrity_checks") and "plaudit import social" in section("social_monitoring")
    # the import group both share lists under each plugin only its own commands
    assert "plaudit import social" not in survey and "plaudit import tickets" in survey
    assert "<code>recommend</code>" in html  # every hook is listed, implemented or not


def _queries(app, client, path: str) -> int:
    return statements_of_page(app, client, path)


def _grow(app, start: int, count: int) -> None:
    """Integrations with tickets and outbox rows, in a few statements."""
    now = utcnow()
    with app.app_context(), transaction() as session:
        session.execute(insert(Integration), [
            {"provider": "generic", "name": f"Desk {n}", "webhook_secret": f"secret-{n:04d}-0123456789",
             "settings": {"namespace": f"desk_{n}"}, "active": n % 2 == 0} for n in range(start, start + count)])
        session.execute(insert(Ticket), [{"provider": f"desk_{n}", "external_id": "1", "updated_at": now}
                                         for n in range(start, start + count)])
        session.execute(insert(PendingJob), [
            {"func": f"jobs.job_{n % 7}", "args": [n], "attempts": n % 3, "created_at": now,
             "next_attempt_at": now + timedelta(minutes=n % 2), "last_error": "Boom" if n % 3 else None}
            for n in range(start, start + count)])


@pytest.mark.parametrize("path", PAGES)
def test_each_admin_page_issues_the_same_queries_however_big_the_system(app, client, login, accounts, path):
    login("admin@example.com")
    _grow(app, 0, 3)
    few = _queries(app, client, path)
    _grow(app, 3, 400)
    assert _queries(app, client, path) == few
