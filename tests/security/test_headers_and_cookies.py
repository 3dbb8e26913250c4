"""Session cookie flags and security headers, on pages, errors and the API alike."""
from __future__ import annotations

import pytest

from tests.fixtures.org import sign_in

HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
#: A sample of every kind of answer: public pages, each role's pages, a form, a 404, the API and its errors.
PAGES = ["/login", "/healthz", "/", "/org", "/report", "/team", "/team/responses", "/unattributed", "/runs",
         "/guidelines", "/targets", "/review/recommendations", "/admin/integrations", "/admin/plugins",
         "/channels/social_monitoring/sources", "/channels/mystery_shopper/templates", "/no-such-page",
         "/channels/post_ticket_survey/s/no-such-token", "/api/v1/openapi.json", "/api/v1/teams/",
         "/api/v1/no-such-thing"]


def _session_cookie(response) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def test_every_sampled_answer_carries_the_security_headers(client, create_user):
    create_user("all@example.com", roles=["admin", "hr", "manager", "employee"])
    assert sign_in(client, "all@example.com").status_code == 302
    statuses = {}
    for url in PAGES:
        response = client.get(url)
        statuses[url] = response.status_code
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (url, name)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS
    assert {200, 401, 404} <= set(statuses.values()), statuses


def test_the_session_cookie_is_http_only_and_same_site(client, create_user):
    create_user("ann@example.com")
    cookie = _session_cookie(sign_in(client, "ann@example.com"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize("same_site", ["Lax", "Strict"])
def test_behind_https_the_cookie_is_secure_and_browsers_are_told_to_keep_to_https(make_app, create_user,
                                                                                   same_site):
    app = make_app(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE=same_site)
    client = app.test_client()
    create_user("ann@example.com")
    response = sign_in(client, "ann@example.com")
    cookie = _session_cookie(response)
    assert "; Secure" in cookie and "HttpOnly" in cookie and f"SameSite={same_site}" in cookie
    for url in ("/login", "/", "/api/v1/openapi.json"):
        assert client.get(url).headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_session_cookie_cannot_be_forged_without_the_secret_key(client, create_user):
    user = create_user("hr@example.com", roles=["hr"])
    client.set_cookie("session", f'{{"_user_id": "{user.id}", "_fresh": true}}')
    assert client.get("/runs").status_code == 302  # sent to sign in


def test_a_signed_in_page_and_an_api_answer_are_not_kept_in_any_cache(client, create_user):
    """Report and review pages went out with no Cache-Control, for a shared proxy or a shared browser to keep."""
    create_user("hr@example.com", roles=["hr"])
    assert "Cache-Control" not in client.get("/login").headers  # a page for anyone
    assert sign_in(client, "hr@example.com").status_code == 302
    for url in ("/runs", "/guidelines", "/api/v1/openapi.json"):
        assert client.get(url).headers["Cache-Control"] == "private, no-store", url
    static = client.get("/static/plaudit.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
