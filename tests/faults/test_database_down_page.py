"""With the database unreachable, a signed-in user's page is a clean 503, not a bare 500 from the error page."""
from __future__ import annotations

from tests.fixtures.org import PASSWORD, sign_in

#: A port nothing listens on: every connection is refused, as while PostgreSQL restarts.
DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/plaudit"


def test_a_signed_in_page_answers_503_while_the_database_is_down(make_app, app, create_user):
    create_user("hr@example.com", roles=["hr"])
    browser = app.test_client()
    assert sign_in(browser, "hr@example.com", PASSWORD).status_code == 302
    # The same browser (its signed session cookie) now meets a web process whose database is gone.
    down = make_app(DATABASE_URL=DEAD_DATABASE, TESTING=False)
    lost = down.test_client()
    for cookie in browser._cookies.values():
        lost.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    page = lost.get("/")
    body = page.get_data(as_text=True)
    assert (page.status_code, page.mimetype, page.headers["Retry-After"]) == (503, "text/html", "5")
    assert "nothing was saved" in body and "127.0.0.1" not in body and "Traceback" not in body
