"""Anyone signed in changes their own password; the other browsers signed in with the old one are signed out."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import transaction
from core.models import AuditEntry
from tests.fixtures.org import PASSWORD, csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")


def _change(client, **form):
    token = csrf_token(client.get("/password").get_data(as_text=True))
    return client.post("/password", data={"csrf_token": token, **form})


def _error(answer, field: str) -> str:
    return answer.get_data(as_text=True).split(f'id="{field}-error">')[1].split("</p>")[0].replace("&#39;", "'")


def test_an_employee_changes_their_password_and_their_other_browser_is_signed_out(app, worked_example, caplog):
    here, elsewhere = app.test_client(), app.test_client()
    for client in (here, elsewhere):
        assert sign_in(client, "ann@example.com").status_code == 302
    assert 'href="/password"' in here.get("/report").get_data(as_text=True)
    answer = _change(here, current=PASSWORD, password="a new long one", again="a new long one")
    assert answer.status_code == 303
    assert "Your password is changed." in here.get("/report").get_data(as_text=True)  # still signed in here
    assert elsewhere.get("/report").status_code == 302  # signed out there
    assert sign_in(app.test_client(), "ann@example.com", "a new long one").status_code == 302
    assert sign_in(app.test_client(), "ann@example.com", PASSWORD).status_code == 401
    with transaction() as session:
        assert session.scalar(select(AuditEntry.actor_id).where(
            AuditEntry.action == "user.password_changed")) == worked_example.users["ann"]
    assert "a new long one" not in caplog.text


@pytest.mark.parametrize(("form", "field", "error"), [
    ({"current": "not it", "password": "a new long one", "again": "a new long one"}, "current",
     "this is not your password now"),
    ({"password": "short", "again": "short"}, "password", "use at least 8 characters"),
    ({"password": "a new long one", "again": "a new lung one"}, "again", "the two passwords differ"),
    ({"password": PASSWORD, "again": PASSWORD}, "password", "choose a password other than the one you have"),
])
def test_a_refused_change_names_the_field_and_keeps_the_password(app, worked_example, form, field, error):
    client = app.test_client()
    assert sign_in(client, "ann@example.com").status_code == 302
    answer = _change(client, **{"current": PASSWORD, **form})
    assert answer.status_code == 400 and error in _error(answer, field)
    assert sign_in(app.test_client(), "ann@example.com", PASSWORD).status_code == 302


def test_guessing_the_present_password_meets_the_sign_in_lock(make_app, create_user):
    app = make_app(LOGIN_MAX_FAILURES=3)
    create_user("eve@example.com", roles=["employee"])
    client = app.test_client()
    assert sign_in(client, "eve@example.com").status_code == 302
    for _ in range(3):
        assert "this is not your password now" in _error(
            _change(client, current="guess", password="a new long one", again="a new long one"), "current")
    locked = _change(client, current=PASSWORD, password="a new long one", again="a new long one")
    assert "too many wrong passwords: try again in 15 minutes" in _error(locked, "current")


def test_every_fault_is_named_at_once(app, worked_example):
    client = app.test_client()
    assert sign_in(client, "ann@example.com").status_code == 302
    answer = _change(client, current="not it", password="short", again="shorter")
    assert answer.status_code == 400
    assert "this is not your password now" in _error(answer, "current")
    assert "use at least 8 characters" in _error(answer, "password") and "differ" in _error(answer, "again")


def test_a_change_sent_from_elsewhere_counts_no_guess(make_app, create_user):
    app = make_app(LOGIN_MAX_FAILURES=1, WTF_CSRF_ENABLED=True)
    create_user("eve@example.com", roles=["employee"])
    client = app.test_client()
    assert sign_in(client, "eve@example.com").status_code == 302
    forged = client.post("/password", data={"current": "guess", "password": "a new long one", "again": "a new long one"})
    assert forged.status_code == 400 and "this is not your password now" not in forged.get_data(as_text=True)
    assert sign_in(app.test_client(), "eve@example.com").status_code == 302  # not locked


def test_guesses_from_one_person_block_nobody_elses_change(make_app, create_user):
    app = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=2)
    create_user("eve@example.com", roles=["employee"])
    create_user("bob@example.com", roles=["employee"])
    eve, bob = app.test_client(), app.test_client()
    assert sign_in(eve, "eve@example.com").status_code == 302 and sign_in(bob, "bob@example.com").status_code == 302
    for _ in range(2):
        _change(eve, current="guess", password="a new long one", again="a new long one")
    other_address = {"REMOTE_ADDR": "10.0.0.2"}
    page = bob.get("/password", environ_overrides=other_address).get_data(as_text=True)
    answer = bob.post("/password", environ_overrides=other_address, data={
        "csrf_token": csrf_token(page), "current": PASSWORD, "password": "a new long one", "again": "a new long one"})
    assert answer.status_code == 303
