"""Signing in and out, CSRF, and that every route states who may call it."""
from __future__ import annotations

import pytest

from core.auth import access_of
from core.models import ROLES
from tests.fixtures.org import PASSWORD, csrf_token, sign_in


def test_login_page_carries_a_csrf_token(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert csrf_token(page.get_data(as_text=True))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_signs_in_and_sees_the_home_page(client, create_user, role):
    create_user(f"{role}@example.com", roles=[role])
    response = sign_in(client, f"{role}@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/", follow_redirects=True)  # a shopper's home is their assignments
    assert home.status_code == 200 and role in home.get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_answer(client, create_user):
    create_user("ann@example.com")
    wrong = sign_in(client, "ann@example.com", "not the password")
    unknown = sign_in(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "E-mail or password is wrong." in wrong.get_data(as_text=True)
    assert "E-mail or password is wrong." in unknown.get_data(as_text=True)


def test_inactive_user_cannot_sign_in(client, create_user):
    create_user("gone@example.com", active=False)
    assert sign_in(client, "gone@example.com").status_code == 401


def test_login_without_csrf_token_is_refused(client, create_user):
    create_user("ann@example.com")
    response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still signed out


def test_passwords_are_stored_hashed(session, create_user):
    user = create_user("ann@example.com")
    assert PASSWORD not in user.password_hash and user.check_password(PASSWORD)


def test_next_parameter_cannot_redirect_off_site(client, create_user):
    create_user("ann@example.com")
    page = client.get("/login?next=https://evil.example/")
    response = client.post("/login?next=https://evil.example/", data={
        "email": "ann@example.com", "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/"


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logout_needs_a_post_with_csrf(client, login, create_user):
    create_user("ann@example.com")
    login("ann@example.com")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(home)}).status_code == 302
    assert client.get("/").status_code == 302


def test_signing_out_ends_the_session_a_copied_cookie_holds_too(app, create_user, session_per_request):
    """The session lives in the cookie: a copy kept from before signing out stayed signed in for 31 days."""
    create_user("hr@example.com", roles=["hr"])
    browser = app.test_client()
    assert sign_in(browser, "hr@example.com").status_code == 302
    copied = browser.get_cookie("session").value
    home = browser.get("/", follow_redirects=True).get_data(as_text=True)
    assert browser.post("/logout", data={"csrf_token": csrf_token(home)}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/runs").status_code == 302  # sent to sign in
    assert sign_in(app.test_client(), "hr@example.com").status_code == 302  # the account itself works


def test_a_csrf_token_from_before_sign_in_is_not_good_after_it(app, create_user, session_per_request):
    """A token read off the sign-in page by whoever planted the cookie worked on forms once the victim signed in."""
    create_user("hr@example.com", roles=["hr"])
    browser = app.test_client()
    planted = csrf_token(browser.get("/login").get_data(as_text=True))
    assert sign_in(browser, "hr@example.com").status_code == 302
    refused = browser.post("/runs", data={"csrf_token": planted, "kind": "week", "day": "2026-11-02"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)


def test_every_route_declares_who_may_call_it(app):
    undeclared = [rule.endpoint for rule in app.url_map.iter_rules() if access_of(app, rule.endpoint) is None]
    assert undeclared == []


def test_pages_send_security_headers(client):
    headers = client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    page = client.get("/login")  # the form's CSRF token lives in the session: a cookie is set
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_account_without_roles_cannot_sign_in(client, create_user):
    create_user("nobody@example.com", roles=[])
    assert sign_in(client, "nobody@example.com").status_code == 401


def test_user_whose_roles_were_removed_can_still_sign_out(client, login, session, create_user):
    user = create_user("ann@example.com")
    login("ann@example.com")
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    user.roles = []
    session.commit()
    assert client.get("/").status_code == 403
    assert client.post("/logout", data={"csrf_token": csrf_token(html)}).status_code == 302


def test_refused_sign_ins_and_api_calls_are_logged_without_what_was_typed(client, create_user, caplog):
    """Operators saw nothing of a brute-force attempt or a misconfigured API client."""
    import logging

    caplog.set_level(logging.INFO)
    ann = create_user("ann@example.com")
    sign_in(client, "ann@example.com", "Hunter2-guess")
    sign_in(client, "nobody@example.com", "Hunter2-guess")
    assert f"sign-in failed from 127.0.0.1 for user {ann.id}: wrong password" in caplog.text
    assert "sign-in failed from 127.0.0.1 for an e-mail with no account" in caplog.text
    for _ in range(5):
        sign_in(client, "ann@example.com", "Hunter2-guess")
    assert "sign-in refused from 127.0.0.1: locked for" in caplog.text
    client.get("/api/v1/teams/", headers={"Authorization": "Bearer pld_not-a-real-token"})
    assert "API GET '/api/v1/teams/' refused (401) from 127.0.0.1" in caplog.text
    assert "Hunter2" not in caplog.text and "nobody@example.com" not in caplog.text
    assert "pld_not-a-real-token" not in caplog.text


def test_a_new_password_signs_out_every_session_made_with_the_old_one(app, session, create_user,
                                                                     session_per_request):
    """`plaudit users set-password` after a leak left the thief's browser signed in: the session kept only the
    user's id. It now keeps a fingerprint of the password hash too, which the loader checks."""
    from flask.testing import FlaskClient

    ann = create_user("ann@example.com", roles=["hr"])
    session.commit()
    thief = app.test_client()
    assert sign_in(thief, "ann@example.com").status_code == 302 and thief.get("/runs").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "set-password", "ann@example.com", "--password-stdin"],
                                          input="a-new-Passw0rd\n")
    assert result.exit_code == 0, result.output
    assert thief.get("/runs").status_code == 302  # sent to sign in
    fresh: FlaskClient = app.test_client()
    assert sign_in(fresh, "ann@example.com", "a-new-Passw0rd").status_code == 302
    assert fresh.get("/runs").status_code == 200
    assert ann.id  # the account itself is untouched


def test_a_revoked_token_still_in_use_is_named_in_the_log(app, client, create_user, session, caplog):
    from core.models import ApiToken

    hr = create_user("hr@example.com", roles=["hr"])
    row, plain = ApiToken.issue(hr, "bridge", ["feedback:read"])
    session.add(row)
    session.commit()
    row.revoked_at = row.created_at
    session.commit()
    client.get("/api/v1/teams/", headers={"Authorization": f"Bearer {plain}"})
    assert f"refused (401) from 127.0.0.1, token {row.id} of user {hr.id}" in caplog.text
    assert plain not in caplog.text
