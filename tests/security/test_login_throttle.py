"""Login throttling: failed sign-ins lock an account, and an address, for a window; 429 with Retry-After."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.app import create_app
from core.config import ConfigError
from core.throttle import LoginFailure
from tests.fixtures.app import SECRET
from tests.fixtures.org import PASSWORD, csrf_token, sign_in

WRONG = "not the password"


def _expire_failures(session, seconds: int) -> None:
    """Move every recorded failure ``seconds`` into the past, as if that long had gone by."""
    for failure in session.scalars(select(LoginFailure)):  # in Python: SQL date arithmetic differs per backend
        failure.failed_at -= timedelta(seconds=seconds)
    session.commit()


def test_an_account_is_locked_after_its_failures_even_for_the_right_password(client, create_user, session):
    create_user("ann@example.com")
    for _ in range(5):
        assert sign_in(client, "ann@example.com", WRONG).status_code == 401
    locked = sign_in(client, "ann@example.com", PASSWORD)
    assert locked.status_code == 429
    assert 890 <= int(locked.headers["Retry-After"]) <= 901
    assert "Too many failed sign-ins: try again in 15 minutes." in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out
    # Case does not dodge the lock, and attempts during it do not extend it.
    assert sign_in(client, "ANN@Example.com", PASSWORD).status_code == 429
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 10  # 5 x (account, address)


def test_the_lock_ends_a_window_after_the_latest_failure(client, create_user, session):
    create_user("ann@example.com")
    for _ in range(5):
        sign_in(client, "ann@example.com", WRONG)
    _expire_failures(session, 880)  # 20 s short of the window (signing in takes a moment)
    assert sign_in(client, "ann@example.com", PASSWORD).status_code == 429
    _expire_failures(session, 20)
    assert sign_in(client, "ann@example.com", PASSWORD).status_code == 302


def test_a_good_sign_in_clears_the_account_count(client, create_user, login):
    create_user("ann@example.com")
    for _ in range(4):
        assert sign_in(client, "ann@example.com", WRONG).status_code == 401
    login("ann@example.com")
    other = client.application.test_client()
    for _ in range(4):
        assert sign_in(other, "ann@example.com", WRONG).status_code == 401
    assert sign_in(other, "ann@example.com", PASSWORD).status_code == 302  # 8 failures, none of them 5 in a row


def test_unknown_e_mails_lock_alike_so_the_lock_reveals_no_account(client, create_user):
    create_user("ann@example.com")
    for _ in range(5):
        sign_in(client, "nobody@example.com", WRONG)
        sign_in(client, "ann@example.com", WRONG)
    assert sign_in(client, "nobody@example.com", WRONG).status_code == 429
    assert sign_in(client, "ann@example.com", WRONG).status_code == 429


def test_one_address_guessing_at_many_accounts_is_locked(make_app, create_user):
    app = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=6)
    client = app.test_client()
    create_user("ann@example.com")
    for index in range(6):
        assert sign_in(client, f"guess{index}@example.com", WRONG).status_code == 401
    assert sign_in(client, "ann@example.com", PASSWORD).status_code == 429
    elsewhere = app.test_client()
    assert sign_in(elsewhere, "ann@example.com", PASSWORD).status_code == 429  # the same address
    other_address = _sign_in_from(app.test_client(), "203.0.113.9", "ann@example.com", PASSWORD)
    assert other_address.status_code == 302


def _sign_in_from(client, address: str, email: str, password: str):
    """Sign in as a client at ``address`` would."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ)
    return client.post("/login", environ_base=environ, data={
        "email": email, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True))})


def test_the_table_keeps_no_e_mail_or_address(client, create_user, session):
    create_user("ann@example.com")
    sign_in(client, "hunter2-typed-in-the-email@example.com", WRONG)
    keys = session.scalars(select(LoginFailure.key)).all()
    assert len(keys) == 2 and all(len(key) == 64 and "hunter2" not in key and "127.0.0.1" not in key
                                  for key in keys)


@pytest.mark.parametrize(("name", "value"), [("LOGIN_MAX_FAILURES", 0), ("LOGIN_LOCK_SECONDS", -1),
                                             ("LOGIN_MAX_FAILURES_PER_ADDRESS", "many")])
def test_settings_are_validated_naming_the_setting(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"PLAUDIT_{name}:"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", "SECRET_KEY": SECRET,
                    name: value})


def _sign_in_forwarded(client, forwarded: str, email: str, password: str):
    """Sign in through a proxy at 10.0.0.1 that says the client is ``forwarded``."""
    environ = {"REMOTE_ADDR": "10.0.0.1"}
    headers = {"X-Forwarded-For": forwarded}
    page = client.get("/login", environ_base=environ, headers=headers)
    return client.post("/login", environ_base=environ, headers=headers, data={
        "email": email, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True))})


@pytest.mark.parametrize("hops, locked", [(0, True), (1, False)])
def test_behind_a_trusted_proxy_each_client_has_its_own_address(make_app, create_user, hops, locked):
    """With PLAUDIT_PROXY_HOPS=1 the per-address count follows X-Forwarded-For; with 0 a client cannot
    claim another address by sending the header, so everyone behind the proxy shares its address."""
    app = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=3, PROXY_HOPS=hops)
    create_user("ann@example.com")
    for index in range(3):
        assert _sign_in_forwarded(app.test_client(), "198.51.100.7", f"guess{index}@example.com",
                                  WRONG).status_code == 401
    other_client = _sign_in_forwarded(app.test_client(), "203.0.113.9", "ann@example.com", PASSWORD)
    assert other_client.status_code == (429 if locked else 302)


@pytest.mark.parametrize("value", [-1, 6, "one", 1.5])
def test_a_wrong_proxy_hops_is_refused_naming_it(value):
    with pytest.raises(ConfigError, match="PROXY_HOPS"):
        create_app({"SECRET_KEY": SECRET, "PROXY_HOPS": value})
