"""Admins manage accounts on the web: create one, change its roles and employee, shut it out, set a password.

The page follows ``plaudit users`` (core/accounts.py): one account per employee, the last admin keeps the role,
every change audited with who made it, and nothing half-written when a field is refused.
"""
from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from core.db import transaction
from core.models import AuditEntry, User
from core.models.accounts import NO_PASSWORD
from tests.fixtures.org import csrf_token, post_form, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")

NEW = {"email": "cat@example.com", "name": "Cat", "roles": ["employee"], "employee": "CAT@example.com",
       "password": "a long secret", "again": "a long secret"}


@pytest.fixture
def admin(app, worked_example):
    client = app.test_client()
    assert sign_in(client, "admin@example.com").status_code == 302
    return client


def _account(email: str) -> User | None:
    with transaction() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is not None:
            session.expunge(user)
        return user


def _error(page: str, field: str) -> str:
    return html.unescape(page.split(f'id="{field}-error">')[1].split("</p>")[0])


def test_an_admin_creates_an_account_for_an_employee_who_then_signs_in(app, admin, worked_example):
    listed = admin.get("/admin/accounts").get_data(as_text=True)
    assert "hr@example.com" in listed and "Mia" in listed
    answer = post_form(admin, "/admin/accounts", NEW)
    assert answer.status_code == 303
    page = html.unescape(admin.get(answer.headers["Location"]).get_data(as_text=True))
    assert "cat@example.com can sign in now with the password you gave" in page and ">Cat</a>" in page
    cat = _account("cat@example.com")
    assert (cat.employee_id, sorted(cat.roles), cat.active) == (worked_example.ids["cat"], ["employee"], True)
    with transaction() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.created"))
        assert entry.actor_id == worked_example.users["admin"] and "password" not in str(entry.after)
    assert "a long secret" not in page
    assert sign_in(app.test_client(), "cat@example.com", "a long secret").status_code == 302


@pytest.mark.parametrize(("form", "field", "error"), [
    ({"email": "not mail"}, "email", "not an e-mail address"),
    ({"email": "ANN@example.com"}, "email", "a user with e-mail ANN@example.com exists"),
    ({"roles": []}, "roles", "tick at least one role"),
    ({"employee": "nobody@example.com"}, "employee", "no employee has the address nobody@example.com"),
    ({"employee": "ann@example.com"}, "employee", "already has the account ann@example.com"),
    ({"password": "short", "again": "short"}, "password", "use at least 8 characters"),
    ({"again": "another secret"}, "again", "the two passwords differ"),
    ({"service": "y"}, "password", "a service account has no password"),
])
def test_a_wrong_field_is_named_and_no_account_is_made(admin, form, field, error):
    with transaction() as session:
        before = session.scalar(select(func.count()).select_from(User))
    answer = post_form(admin, "/admin/accounts", {**NEW, **form})
    assert answer.status_code == 400 and error in _error(answer.get_data(as_text=True), field)
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(User)) == before


def test_a_service_account_has_no_password_and_cannot_sign_in(app, admin):
    answer = post_form(admin, "/admin/accounts", {**NEW, "email": "bridge@example.com", "roles": ["hr"], "employee": "",
                                              "password": "", "again": "", "service": "y"})
    assert answer.status_code == 303
    assert _account("bridge@example.com").password_hash == NO_PASSWORD
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "A new password" not in page and "issue its API tokens on API tokens" in page and "/admin/tokens" in page


def test_roles_and_employee_change_and_the_last_admin_keeps_the_role(admin, worked_example):
    bob = worked_example.users["bob"]
    answer = post_form(admin, f"/admin/accounts/{bob}",
                       {"roles": ["employee", "manager"], "employee": "cat@example.com"})
    assert answer.status_code == 303
    page = html.unescape(admin.get(answer.headers["Location"]).get_data(as_text=True))
    assert "bob@example.com: roles employee, manager (were employee); is cat@example.com." in page
    assert _account("bob@example.com").employee_id == worked_example.ids["cat"]
    with transaction() as session:
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.actor_id == worked_example.users["admin"]).order_by(AuditEntry.id)).all()
    assert actions == ["user.roles_changed", "user.linked"]

    me = worked_example.users["admin"]
    own = post_form(admin, f"/admin/accounts/{me}", {"roles": ["hr"]})
    assert own.status_code == 400 and "another admin takes your admin role away" in _error(
        own.get_data(as_text=True), "roles")
    assert _account("admin@example.com").roles == {"admin"}


def test_deactivating_shuts_the_account_out_and_activating_lets_it_back(app, admin, worked_example):
    ann = worked_example.users["ann"]
    signed_in = app.test_client()
    assert sign_in(signed_in, "ann@example.com").status_code == 302
    assert "<details><summary>Deactivate…</summary>" in admin.get(f"/admin/accounts/{ann}").get_data(as_text=True)
    answer = post_form(admin, f"/admin/accounts/{ann}/active", {"active": "no"}, page=f"/admin/accounts/{ann}")
    assert answer.status_code == 303
    assert "can no longer sign in" in html.unescape(admin.get(answer.headers["Location"]).get_data(as_text=True))
    assert signed_in.get("/report").status_code == 302  # signed out at the next page
    assert post_form(admin, f"/admin/accounts/{ann}/active", {"active": "yes"},
                 page=f"/admin/accounts/{ann}").status_code == 303
    assert _account("ann@example.com").active
    me = worked_example.users["admin"]
    refused = post_form(admin, f"/admin/accounts/{me}/active", {"active": "no"}, page=f"/admin/accounts/{me}")
    told = html.unescape(admin.get(refused.headers["Location"]).get_data(as_text=True))
    assert "another admin deactivates it" in told
    assert _account("admin@example.com").active


def test_a_new_password_works_and_is_never_shown_or_audited(app, admin, worked_example, caplog):
    dan = worked_example.users["dan"]
    differ = post_form(admin, f"/admin/accounts/{dan}/password", {"password": "fresh secret", "again": "other"},
                   page=f"/admin/accounts/{dan}")
    assert differ.status_code == 400 and "the two passwords differ" in differ.get_data(as_text=True)
    answer = post_form(admin, f"/admin/accounts/{dan}/password", {"password": "fresh secret", "again": "fresh secret"},
                   page=f"/admin/accounts/{dan}")
    assert answer.status_code == 303
    assert sign_in(app.test_client(), "dan@example.com", "fresh secret").status_code == 302
    with transaction() as session:
        assert session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "user.password_set")) == (
            worked_example.users["admin"])
    assert "fresh secret" not in caplog.text


def test_every_field_at_fault_is_named_at_once(admin):
    answer = post_form(admin, "/admin/accounts", {**NEW, "name": "   ", "roles": [], "employee": "nobody@example.com",
                                                  "password": "short", "again": "other"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "give their name" in _error(page, "name") and "tick at least one role" in _error(page, "roles")
    assert "no employee has the address" in _error(page, "employee")
    assert "use at least 8 characters" in _error(page, "password") and "differ" in _error(page, "again")


def test_a_new_link_to_someone_who_left_is_refused_and_an_unlinked_employee_account_is_warned(app, admin):
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "cat@example.com"]).exit_code == 0
    refused = post_form(admin, "/admin/accounts", NEW)
    assert refused.status_code == 400 and "CAT@example.com has left" in _error(refused.get_data(as_text=True),
                                                                               "employee")
    answer = post_form(admin, "/admin/accounts", {**NEW, "employee": ""})
    told = html.unescape(admin.get(answer.headers["Location"]).get_data(as_text=True))
    assert "It is no employee, so it has no report and leads no team" in told


def test_an_account_of_someone_who_left_keeps_its_link_when_its_roles_change(app, admin, worked_example):
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "dan@example.com", "--keep-account"]).exit_code == 0
    dan = worked_example.users["dan"]
    answer = post_form(admin, f"/admin/accounts/{dan}", {"roles": ["shopper"], "employee": "dan@example.com"})
    assert answer.status_code == 303 and _account("dan@example.com").roles == {"shopper"}


def test_two_admins_shutting_each_other_out_at_once_leave_one_admin(app, admin, worked_example):
    """The second waits for the first's change and then finds the last admin (PostgreSQL: writers overlap)."""
    import threading
    import time

    from core.accounts import set_user_active

    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        hr.roles = ["hr", "admin"]
    me = worked_example.users["admin"]
    token = csrf_token(admin.get(f"/admin/accounts/{worked_example.hr}").get_data(as_text=True))
    answers = []
    with transaction() as other_admin:  # HR, an admin too, deactivates the admin signed in here
        if other_admin.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: the two cannot overlap")
        # Its target alone locked: the page must wait for it all the same, or both pass the last-admin check.
        set_user_active(other_admin, other_admin.get(User, me, with_for_update=True), False)
        other_admin.flush()  # written, not committed: the page's request starts meanwhile
        shutting = threading.Thread(target=lambda: answers.append(admin.post(
            f"/admin/accounts/{worked_example.hr}/active", data={"csrf_token": token, "active": "no"})))
        shutting.start()
        time.sleep(0.5)
    shutting.join(30)
    with transaction() as session:
        admins = session.scalars(select(User.email).where(User.active, User.id.in_([me, worked_example.hr]))).all()
    assert admins == ["hr@example.com"], answers


def test_an_admin_setting_their_own_password_stays_signed_in(app, admin, worked_example):
    me = worked_example.users["admin"]
    answer = post_form(admin, f"/admin/accounts/{me}/password", {"password": "my new secret", "again": "my new secret"},
                       page=f"/admin/accounts/{me}")
    assert answer.status_code == 303
    assert "has a new password" in html.unescape(admin.get(answer.headers["Location"]).get_data(as_text=True))
