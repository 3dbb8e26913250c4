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


def test_a_fault_in_a_statement_is_a_500_not_an_outage(make_app, database, caplog):
    """On SQLite a plugin's misspelled SQL function is an OperationalError too: it was answered 503 "the database
    is unavailable", which tells every client to retry a bug for ever, and its log line named nothing."""
    from sqlalchemy import text

    from core.db import get_session

    app = make_app(TESTING=False)
    app.add_url_rule("/broken", "broken", lambda: str(get_session().scalar(text("SELECT no_such_fn(1)"))))
    answer = app.test_client().get("/broken")
    assert answer.status_code == 500 and "Retry-After" not in answer.headers
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged and "no_such_fn" in logged[-1].exc_text and "database unavailable" not in caplog.text


def test_only_a_busy_locked_or_unopenable_sqlite_database_is_an_outage(tmp_path):
    import sqlite3

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from core.db import database_unreachable

    def raised(url: str, statement: str) -> OperationalError:
        try:
            with create_engine(url, connect_args={"timeout": 0}).begin() as conn:
                conn.execute(text(statement))
        except OperationalError as error:
            return error
        raise AssertionError(f"{statement} did not fail")

    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    busy = raised(f"sqlite:///{path}", "INSERT INTO t VALUES (1)")
    holder.execute("ROLLBACK")
    assert busy.orig.sqlite_errorname == "SQLITE_BUSY" and database_unreachable(busy)
    missing_dir = raised(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}", "SELECT 1")
    assert database_unreachable(missing_dir)
    assert not database_unreachable(raised(f"sqlite:///{path}", "SELECT no_such_fn(1)"))
    assert not database_unreachable(raised(f"sqlite:///{path}", "SELEC 1"))
