"""Managing accounts after creating them: passwords, deactivation, roles, and employees who leave."""
from __future__ import annotations

import re

import click
import pytest
from flask.cli import ScriptInfo
from sqlalchemy import select

from core import local_time
from core.models import AuditEntry, Employee, Team, User
from tests.fixtures.org import sign_in

NEW = "a new password"


@pytest.fixture
def cli(app, session):
    """Run a ``plaudit`` command, ending the test's transaction first.

    Requests share the test's session (see tests/fixtures/app.py), and every SQLite transaction that may write
    holds the write lock: a read left open would keep the command waiting.
    """
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None):
        session.commit()
        result = runner.invoke(args=list(args), input=input)
        session.expire_all()  # what the command changed, the test and its requests see
        return result
    return invoke


def _user(session, email: str) -> User:
    return session.scalar(select(User).where(User.email == email))


def _audit(session, action: str) -> list[AuditEntry]:
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def _token(cli, email: str) -> dict[str, str]:
    plain = cli("tokens", "create", email, "--name", "bridge", "--scope", "org:read").stdout.strip()
    return {"Authorization": f"Bearer {plain}"}


def test_set_password_asks_twice_and_audits_without_the_hash(cli, session, create_user):
    create_user("ann@example.com", roles=["hr"])
    result = cli("users", "set-password", "ANN@example.com", input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert NEW not in result.output  # hidden
    user = _user(session, "ann@example.com")
    assert user.check_password(NEW)
    [entry] = _audit(session, "user.password_set")
    assert entry.entity_id == str(user.id) and entry.before is None and entry.after is None


def test_set_password_reads_stdin_for_scripts_with_the_same_rules(cli, session, create_user):
    create_user("ann@example.com", roles=["hr"])
    piped = cli("users", "set-password", "ann@example.com", "--password-stdin", input=f"{NEW}\n")
    assert piped.exit_code == 0, piped.output
    assert _user(session, "ann@example.com").check_password(NEW)  # the newline is not part of it
    short = cli("users", "set-password", "ann@example.com", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "--password-stdin" in short.output and "at least 8" in short.output
    long = cli("users", "set-password", "ann@example.com", "--password-stdin", input="x" * 201)
    assert long.exit_code == 2 and "at most 200" in long.output
    empty = cli("users", "set-password", "ann@example.com", "--password-stdin", input="")
    assert empty.exit_code == 2 and "no password" in empty.output
    two_lines = cli("users", "set-password", "ann@example.com", "--password-stdin", input="first\nsecond line\n")
    assert two_lines.exit_code == 2 and "one line" in two_lines.output
    unknown = cli("users", "set-password", "bob@example.com", "--password-stdin", input=NEW)
    assert unknown.exit_code == 2 and "EMAIL" in unknown.output
    assert "no user has e-mail bob@example.com" in unknown.output
    assert _user(session, "ann@example.com").check_password(NEW)


def test_set_password_refuses_a_service_account(cli, session):
    cli("users", "create", "bot@example.com", "--name", "Bot", "--role", "hr", "--service")
    result = cli("users", "set-password", "bot@example.com", "--password-stdin", input=NEW)
    assert result.exit_code == 2 and "service account" in result.output
    assert not _user(session, "bot@example.com").check_password(NEW)


def test_a_new_password_lifts_the_sign_in_lock(app, cli, client, create_user):
    create_user("ann@example.com", roles=["hr"])
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert sign_in(client, "ann@example.com", "wrong guess").status_code == 401
    assert sign_in(client, "ann@example.com", NEW).status_code == 429  # locked, whatever the password
    result = cli("users", "set-password", "ann@example.com", "--password-stdin", input=NEW)
    assert result.exit_code == 0, result.output
    assert sign_in(client, "Ann@Example.com", NEW).status_code == 302


def test_deactivating_shuts_out_sessions_and_tokens_until_activated(app, cli, client, session, create_user, login):
    create_user("boss@example.com", roles=["admin"])
    create_user("ann@example.com", roles=["hr"])
    headers = _token(cli, "ann@example.com")
    assert client.get("/api/v1/teams/", headers=headers).status_code == 200
    login("ann@example.com")
    assert client.get("/").status_code == 200

    off = cli("users", "deactivate", "ann@example.com")
    assert off.exit_code == 0, off.output
    assert "1 API token" in off.output
    assert client.get("/").status_code == 302  # the browser signed in before is signed out
    assert client.get("/api/v1/teams/", headers=headers).status_code == 401
    assert sign_in(client, "ann@example.com").status_code == 401
    assert re.search(r"ann@example.com .* inactive", cli("users", "list").output)
    assert "already inactive" in cli("users", "deactivate", "ann@example.com").output
    [entry] = _audit(session, "user.deactivated")
    assert entry.before == {"active": True} and entry.after == {"active": False}

    on = cli("users", "activate", "ann@example.com")
    assert on.exit_code == 0, on.output
    # The browser signed in before the deactivation stays signed out: activating again brought it back.
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/teams/", headers=headers).status_code == 200
    assert sign_in(app.test_client(), "ann@example.com").status_code == 302
    assert len(_audit(session, "user.activated")) == 1
    assert "already active" in cli("users", "activate", "ann@example.com").output
    unknown = cli("users", "deactivate", "nobody@example.com")
    assert unknown.exit_code == 2 and "no user has e-mail nobody@example.com" in unknown.output


def test_the_last_admin_who_can_sign_in_is_kept(cli, session, create_user):
    create_user("boss@example.com", roles=["admin", "hr"])
    create_user("gone@example.com", roles=["admin"], active=False)  # inactive: cannot run the admin pages
    cli("users", "create", "bot@example.com", "--name", "Bot", "--role", "admin", "--service")

    off = cli("users", "deactivate", "boss@example.com")
    assert off.exit_code == 2 and "last active admin" in off.output and "--add admin" in off.output
    demoted = cli("users", "roles", "boss@example.com", "--remove", "admin")
    assert demoted.exit_code == 2 and "last active admin" in demoted.output
    assert _user(session, "boss@example.com").roles == {"admin", "hr"} and _user(session, "boss@example.com").active
    assert cli("users", "roles", "boss@example.com", "--remove", "hr").exit_code == 0

    cli("users", "roles", "gone@example.com", "--remove", "admin")  # not a working admin: fine
    assert _user(session, "gone@example.com").roles == set()
    create_user("new@example.com", roles=["admin"])
    assert cli("users", "roles", "boss@example.com", "--remove", "admin").exit_code == 0
    assert cli("users", "deactivate", "boss@example.com").exit_code == 0


def test_roles_are_added_and_removed_and_audited(cli, session, create_user):
    create_user("ann@example.com", roles=["employee"])
    shown = cli("users", "roles", "ann@example.com")
    assert shown.exit_code == 0 and "employee" in shown.output
    changed = cli("users", "roles", "ann@example.com", "--add", "manager", "--add", "hr",
                                  "--remove", "employee")
    assert changed.exit_code == 0, changed.output
    assert _user(session, "ann@example.com").roles == {"hr", "manager"}
    [entry] = _audit(session, "user.roles_changed")
    assert entry.before == {"roles": ["employee"]} and entry.after == {"roles": ["hr", "manager"]}
    same = cli("users", "roles", "ann@example.com", "--add", "hr")
    assert same.exit_code == 0 and "nothing changed" in same.output and len(_audit(session, "user.roles_changed")) == 1
    both = cli("users", "roles", "ann@example.com", "--add", "hr", "--remove", "hr")
    assert both.exit_code == 2 and "hr" in both.output
    unknown = cli("users", "roles", "ann@example.com", "--add", "boss")
    assert unknown.exit_code == 2 and "--add" in unknown.output
    emptied = cli("users", "roles", "ann@example.com", "--remove", "hr", "--remove", "manager")
    assert emptied.exit_code == 0 and "cannot sign in" in emptied.output
    assert _user(session, "ann@example.com").roles == set()


def test_a_role_taken_away_takes_the_token_scopes_with_it(cli, client, create_user):
    create_user("ann@example.com", roles=["hr", "manager"])
    headers = _token(cli, "ann@example.com")
    cli("users", "roles", "ann@example.com", "--remove", "hr")
    assert client.get("/api/v1/teams/", headers=headers).status_code == 403


def test_create_warns_about_password_on_the_command_line_and_takes_stdin(cli, session):
    shown = cli("users", "create", "a@example.com", "--name", "A", "--role", "hr",
                                "--password", "long enough")
    assert shown.exit_code == 0 and "ps" in shown.stderr and "--password-stdin" in shown.stderr
    piped = cli("users", "create", "b@example.com", "--name", "B", "--role", "hr",
                                "--password-stdin", input=f"{NEW}\n")
    assert piped.exit_code == 0, piped.output
    assert _user(session, "b@example.com").check_password(NEW) and "warning" not in piped.stderr
    both = cli("users", "create", "c@example.com", "--name", "C", "--role", "hr",
                               "--password", "long enough", "--password-stdin", input=NEW)
    assert both.exit_code == 2 and "one way" in both.output
    service = cli("users", "create", "d@example.com", "--name", "D", "--role", "hr", "--service",
                                  "--password-stdin", input=NEW)
    assert service.exit_code == 2 and "service account has no password" in service.output
    too_long = cli("users", "create", "e@example.com", "--name", "E", "--role", "hr",
                                   "--password-stdin", input="x" * 201)
    assert too_long.exit_code == 2 and "at most 200" in too_long.output
    assert [entry.after["email"] for entry in _audit(session, "user.created")] == ["a@example.com", "b@example.com"]


def test_users_list_says_which_accounts_are_active(cli, create_user):
    create_user("ann@example.com", roles=["hr"])
    create_user("bob@example.com", roles=["hr"], active=False)
    listing = cli("users", "list").output
    assert re.search(r"^ann@example.com .* active .*hr$", listing, re.MULTILINE)
    assert re.search(r"^bob@example.com .* inactive .*hr$", listing, re.MULTILINE)


def test_an_employee_who_left_is_deactivated_with_their_account(cli, session, create_employee, create_user):
    team = Team(name="Support", slug="support")
    session.add(team)
    lea = create_employee("Lea Novak", team=team, email="lea@example.com")
    team.manager_id = lea.id
    session.commit()
    create_user("lea@example.com", roles=["manager"], employee=lea)

    result = cli("org", "deactivate", "LEA@example.com")
    assert result.exit_code == 0, result.output
    assert "they still lead Support" in result.output and "lea@example.com" in result.output
    assert not session.get(Employee, lea.id).active and not _user(session, "lea@example.com").active
    assert len(_audit(session, "employee.deactivated")) == 1 and len(_audit(session, "user.deactivated")) == 1
    assert f"(inactive, left {local_time.today().isoformat()})" in cli("org", "list").output
    assert "already inactive" in cli("org", "deactivate", str(lea.id)).output

    back = cli("org", "activate", str(lea.id))
    assert back.exit_code == 0 and "plaudit users activate lea@example.com" in back.output
    assert session.get(Employee, lea.id).active and not _user(session, "lea@example.com").active


def test_org_deactivate_can_keep_the_account_and_names_what_it_cannot_find(cli, session, create_employee,
                                                                          create_user):
    ann = create_employee("Ann", email="ann@example.com")
    create_user("ann@example.com", roles=["admin"], employee=ann)
    last_admin = cli("org", "deactivate", str(ann.id))
    assert last_admin.exit_code == 2
    assert "last active admin" in last_admin.output and "--keep-account" in last_admin.output
    assert "plaudit users roles EMAIL --add admin" in last_admin.output
    assert session.get(Employee, ann.id).active  # nothing half done
    kept = cli("org", "deactivate", str(ann.id), "--keep-account")
    assert kept.exit_code == 0, kept.output
    assert not session.get(Employee, ann.id).active and _user(session, "ann@example.com").active
    for missing, says in (("4242", "no employee has id 4242"), ("nobody@example.com", "no employee has e-mail")):
        result = cli("org", "deactivate", missing)
        assert result.exit_code == 2 and "EMPLOYEE" in result.output and says in result.output


def test_every_account_and_org_command_is_in_the_administration_guide(app):
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "administration.md").read_text()
    context = click.Context(app.cli, obj=ScriptInfo(create_app=lambda: app))
    missing = []
    for group in ("users", "tokens", "org"):
        command = app.cli.get_command(context, group)
        missing += [f"plaudit {group} {name}" for name in command.list_commands(context)
                    if f"plaudit {group} {name}" not in guide]
    assert not missing, f"docs/administration.md does not mention: {', '.join(missing)}"


def test_an_account_is_linked_to_its_employee_after_it_was_made(cli, session, create_employee, create_user):
    """A manager account made without --employee-id led no team, and only SQL could link it."""
    mia = create_employee("Mia Manager", email="mia@example.com")
    made = cli("users", "create", "mia@example.com", "--name", "Mia", "--role", "manager", "--password-stdin",
               input=NEW + "\n")
    assert made.exit_code == 0 and "linked to no employee" in made.output
    linked = cli("users", "link", "mia@example.com", str(mia.id))
    assert linked.exit_code == 0 and f"linked to employee {mia.id}" in linked.output
    assert _user(session, "mia@example.com").employee_id == mia.id
    [entry] = _audit(session, "user.linked")
    assert entry.after == {"employee_id": mia.id}
    create_user("other@example.com", roles=["employee"])
    taken = cli("users", "link", "other@example.com", str(mia.id))
    assert taken.exit_code == 2 and "already has the account mia@example.com" in taken.output
    assert cli("users", "link", "other@example.com", "999999").exit_code == 2
    assert cli("users", "link", "mia@example.com").exit_code == 2  # neither an id nor --unlink
    assert cli("users", "link", "mia@example.com", "--unlink").exit_code == 0
    assert _user(session, "mia@example.com").employee_id is None
