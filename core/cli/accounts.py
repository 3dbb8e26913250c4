"""``plaudit users`` and ``plaudit tokens``: accounts for people and for machines."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select

from ..accounts import (
    AccountError,
    change_roles,
    create_account,
    hold_admins,
    last_admin_refusal,
    link_account,
    password_problem,
    set_account_password,
    set_user_active,
    user_by_email,
)
from ..api_tokens import TokenError, issue_token, revoke_token, token_state
from ..auth import API_SCOPES
from ..db import transaction
from ..models import ROLES, ApiToken, User, utcnow
from ..models.accounts import NO_PASSWORD


@click.group()
def users():
    """Create, list and manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in the UI.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several.")
@click.option("--employee-id", type=int, help="Link the account to this employee (employees, managers).")
@click.option("--service", is_flag=True,
              help="An account for API tokens only: it has no password and can never sign in to the web.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--password", help="Deprecated: it shows in `ps` and the shell's history. Leave it out to be "
                                 "asked for the password, or use --password-stdin.")
@with_appcontext
def create_user(email, name, roles, employee_id, service, password_stdin, password):
    """Create a user who signs in with EMAIL (or, with --service, who only owns API tokens)."""
    if password is not None and password_stdin:
        raise click.BadParameter("give the password one way, not with --password-stdin too", param_hint="--password")
    if service:
        if password is not None or password_stdin:
            raise click.BadParameter("a service account has no password",
                                     param_hint="--password-stdin" if password_stdin else "--password")
    elif password is not None:
        click.echo("warning: --password shows the password to anyone running `ps` and keeps it in the shell's "
                   "history; leave it out to be asked for it, or pipe it in with --password-stdin", err=True)
        _check_password(password, "--password")
    else:
        password = _new_password(password_stdin)
    with transaction() as session:
        try:
            create_account(session, email=email, name=name, roles=roles, employee_id=employee_id,
                           password=None if service else password)
        except AccountError as exc:
            raise click.BadParameter(str(exc), param_hint={"email": "EMAIL"}.get(exc.field, "--employee-id")) from None
    click.echo(f"created {email} ({', '.join(sorted(roles))}){' as a service account' if service else ''}")
    if employee_id is None and set(roles) & {"employee", "manager"}:
        click.echo(f"warning: {email} is linked to no employee, so it has no report and leads no team: "
                   f"plaudit users link {email} EMPLOYEE_ID", err=True)


@users.command("list")
@with_appcontext
def list_users():
    """List the accounts: e-mail, name, active or inactive, roles."""
    with transaction() as session:
        for user in session.scalars(select(User).order_by(User.email)):
            state = "active" if user.active else "inactive"
            service = "  (service account)" if user.password_hash == NO_PASSWORD else ""
            click.echo(f"{user.email:32} {user.name:28} {state:8} {', '.join(sorted(user.roles)) or '(no role)'}"
                       f"{service}")


@users.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the new password from standard input instead of asking for it (for scripts).")
@with_appcontext
def set_password(email, password_stdin):
    """Give the user EMAIL a new password.

    It is asked for twice, hidden (or read from standard input with --password-stdin), and any lock on the
    account from failed sign-ins is lifted.
    """
    with transaction() as session:  # before asking, so a wrong e-mail is not found out after typing twice
        if _user(session, email).password_hash == NO_PASSWORD:
            raise click.BadParameter(f"{email} is a service account: it has no password and never signs in",
                                     param_hint="EMAIL")
    password = _new_password(password_stdin)
    with transaction() as session:
        user = _user(session, email)
        set_account_password(session, user, password)
    click.echo(f"new password set for {user.email}; its failed sign-ins are forgotten, so it may sign in now")
    if not user.active:
        click.echo(f"warning: {user.email} is inactive and cannot sign in: plaudit users activate {user.email}",
                   err=True)


@users.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate_user(email):
    """Shut the user EMAIL out of the web and the API.

    They cannot sign in, a browser signed in is signed out at its next page, and their API tokens are refused.
    """
    with transaction() as session:
        hold_admins(session)
        user = _user(session, email)
        if not user.active:
            click.echo(f"{user.email} is already inactive")
            return
        refuse_losing_last_admin(session, user, "EMAIL", "deactivating it")
        set_user_active(session, user, False)
        tokens = _live_tokens(session, user)
    click.echo(f"deactivated {user.email}: it can no longer sign in"
               + (f", and its {tokens} API token(s) stop working" if tokens else ""))


@users.command("activate")
@click.argument("email")
@with_appcontext
def activate_user(email):
    """Let the user EMAIL sign in again; their tokens not revoked or expired work again."""
    with transaction() as session:
        user = _user(session, email)
        if user.active:
            click.echo(f"{user.email} is already active")
            return
        set_user_active(session, user, True)
        tokens = _live_tokens(session, user)
    click.echo(f"activated {user.email}" + (f"; its {tokens} API token(s) work again" if tokens else ""))
    if not user.roles:
        click.echo(f"warning: {user.email} holds no role and cannot sign in: plaudit users roles {user.email} "
                   f"--add ROLE", err=True)


@users.command("roles")
@click.argument("email")
@click.option("--add", "added", multiple=True, type=click.Choice(ROLES), help="A role to give; repeat for several.")
@click.option("--remove", "removed", multiple=True, type=click.Choice(ROLES),
              help="A role to take away; repeat for several.")
@with_appcontext
def roles_command(email, added, removed):
    """Add or remove roles of the user EMAIL; with neither option, show their roles."""
    both = sorted(set(added) & set(removed))
    if both:
        raise click.BadParameter(f"{', '.join(both)}: both added and removed; give each role once",
                                 param_hint="--remove")
    with transaction() as session:
        hold_admins(session)
        user = _user(session, email)
        after = (user.roles | set(added)) - set(removed)
        try:
            before = change_roles(session, user, after)
        except AccountError as exc:
            raise click.BadParameter(f"{exc}: plaudit users roles EMAIL --add admin", param_hint="--remove") from None
    roles = ", ".join(sorted(after)) or "no role"
    if not added and not removed:
        click.echo(f"{user.email}: {roles}")
    elif after == before:
        click.echo(f"{user.email}: {roles} (nothing changed)")
    else:
        click.echo(f"{user.email}: {roles} (was {', '.join(sorted(before)) or 'no role'})")
    if before and not after:
        click.echo(f"warning: {user.email} holds no role now: it cannot sign in (a browser signed in can only "
                   f"sign out) and its API tokens are refused", err=True)


@users.command("link")
@click.argument("email")
@click.argument("employee_id", type=int, required=False)
@click.option("--unlink", is_flag=True, help="Take the account's link to its employee away instead.")
@with_appcontext
def link_user(email, employee_id, unlink):
    """Link the user EMAIL to employee EMPLOYEE_ID: their report, their team (for a manager) and their disputes.

    An account made without --employee-id sees no report and leads no team until it is linked.
    """
    if unlink == (employee_id is not None):
        raise click.BadParameter("give an EMPLOYEE_ID to link to, or --unlink, not both", param_hint="EMPLOYEE_ID")
    with transaction() as session:
        user = _user(session, email)
        try:
            link_account(session, user, employee_id)
        except AccountError as exc:
            raise click.BadParameter(str(exc), param_hint="EMPLOYEE_ID") from None
    click.echo(f"{user.email} is linked to employee {employee_id}" if employee_id is not None
               else f"{user.email} is linked to no employee")


def _user(session, email: str) -> User:
    user = user_by_email(session, email)
    if user is None:
        raise click.BadParameter(f"no user has e-mail {email} (plaudit users list shows them)", param_hint="EMAIL")
    return user


def _new_password(from_stdin: bool) -> str:
    """Read a new password from standard input (one line) or ask for it twice, hidden; check its length."""
    if not from_stdin:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        _check_password(password, "password")
        return password
    password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not password:
        raise click.BadParameter("standard input holds no password", param_hint="--password-stdin")
    if "\n" in password or "\r" in password:
        raise click.BadParameter("give the password on one line", param_hint="--password-stdin")
    _check_password(password, "--password-stdin")
    return password


def _check_password(password: str, hint: str) -> None:
    problem = password_problem(password)
    if problem:
        raise click.BadParameter(problem, param_hint=hint)


def _live_tokens(session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow())))


#: Who may act with ``--by`` on what HR and admins answer for (erasing a customer, renaming a ticket category).
HR_OR_ADMIN = frozenset({"hr", "admin"})


def hr_or_admin(session, email: str, doing: str) -> User:
    """The account ``--by EMAIL`` names, for the audit: HR's or an admin's, else refused naming the option."""
    user = user_by_email(session, email)
    if user is None:
        raise click.BadParameter(f"no account has the address {email}", param_hint="--by")
    if not user.roles & HR_OR_ADMIN:
        raise click.BadParameter(f"{email} is not HR or an admin, who alone may {doing}", param_hint="--by")
    return user


def refuse_losing_last_admin(session, user: User, param_hint: str, doing: str, otherwise: str = "") -> None:
    """Refuse a change to ``user`` that would leave no active admin able to sign in to the admin pages.

    :param otherwise: another way out, added to the message.
    :raises click.BadParameter: naming ``param_hint``, when ``user`` is that last admin.
    """
    refusal = last_admin_refusal(session, user, doing)
    if refusal:
        raise click.BadParameter(f"{refusal}: plaudit users roles EMAIL --add admin{otherwise}", param_hint=param_hint)


@click.group()
def tokens():
    """Issue API tokens (only their hash is stored)."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. 'zendesk bridge'.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(list(API_SCOPES)),
              help="What the token may do; repeat for several (docs/api.md lists each scope's endpoints).")
@click.option("--expires-in", "days", type=click.IntRange(1, 3650), default=None,
              help="Days until the token stops working (1 to 3650); without it, until it is revoked.")
@with_appcontext
def create_token(email, name, scopes, days):
    """Issue a token acting for the user EMAIL and print it once."""
    try:
        with transaction() as session:
            token, plain = issue_token(session, email, name, scopes, days)
            expiry = f" It stops working on {token.expires_at:%Y-%m-%d %H:%M} UTC." if days is not None else ""
    except TokenError as exc:  # every option at fault at once, as the tokens page names every field
        hints = [TOKEN_OPTIONS[field] for field in exc.problems]
        message = "; ".join(exc.problems.values()) if len(hints) == 1 else "; ".join(
            f"{TOKEN_OPTIONS[field]}: {problem}" for field, problem in exc.problems.items())
        raise click.BadParameter(message, param_hint=hints) from None
    click.echo(plain)
    click.echo(f"Store it now: Plaudit keeps only its hash and cannot show it again.{expiry}", err=True)


#: What each of issue_token's fields is called on the command line.
TOKEN_OPTIONS = {"owner": "EMAIL", "name": "--name", "scopes": "--scope", "days": "--expires-in"}


@tokens.command("list")
@with_appcontext
def list_tokens():
    """List API tokens by prefix, with owner, scopes, last use, state and when each live one expires (UTC)."""
    with transaction() as session:
        for token in session.scalars(select(ApiToken).order_by(ApiToken.created_at)):
            state = token_state(token)
            used = f"used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
            # the end shown for the live ones: a bridge about to lose its token is what an admin looks for
            ends = (f"until {token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at and state == "active"
                    else "no expiry" if state == "active" else "")
            click.echo(f"{token.prefix}  {state:8} {token.user.email:32} {' '.join(token.scopes):30} "
                       f"{used:21} {ends:22} {token.name}")


@tokens.command("revoke")
@click.argument("prefix")
@with_appcontext
def revoke_by_prefix(prefix):
    """Revoke the token that starts with PREFIX (as `plaudit tokens list` shows it; 8 characters or more)."""
    if len(prefix) < 8:
        raise click.BadParameter("give at least 8 characters of the token", param_hint="PREFIX")
    with transaction() as session:
        matches = session.scalars(select(ApiToken).where(
            ApiToken.prefix.startswith(prefix[:12], autoescape=True))).all()
        if len(matches) != 1:
            raise click.BadParameter(f"{len(matches) or 'no'} tokens start with {prefix}", param_hint="PREFIX")
        token = matches[0]
        revoke_token(session, token)
    click.echo(f"revoked {token.prefix} ({token.name})")
