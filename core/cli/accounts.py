"""``plaudit users`` and ``plaudit tokens``: accounts for people and for machines."""
from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..auth import API_SCOPES, SHOPPER_SCOPES, TOKEN_ROLES, token_scopes_of
from ..db import transaction
from ..models import ROLES, ApiToken, Employee, User, record_audit, utcnow
from ..models.accounts import NO_PASSWORD


@click.group()
def users():
    """Create and list user accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in the UI.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several.")
@click.option("--employee-id", type=int, help="Link the account to this employee (employees, managers).")
@click.option("--service", is_flag=True,
              help="An account for API tokens only: it has no password and can never sign in to the web.")
@click.option("--password", help="Prompted for when not given (not for --service).")
@with_appcontext
def create_user(email, name, roles, employee_id, service, password):
    """Create a user who signs in with EMAIL (or, with --service, who only owns API tokens)."""
    if service:
        if password:
            raise click.BadParameter("a service account has no password", param_hint="--password")
    else:
        password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 8:
            raise click.BadParameter("use at least 8 characters", param_hint="--password")
    with transaction() as session:
        if session.scalar(select(User).where(func.lower(User.email) == email.lower())):
            raise click.BadParameter(f"a user with e-mail {email} exists", param_hint="EMAIL")
        if employee_id is not None and session.get(Employee, employee_id) is None:
            raise click.BadParameter(f"no employee has id {employee_id}", param_hint="--employee-id")
        linked = employee_id is not None and session.scalar(select(User.email).where(User.employee_id == employee_id))
        if linked:  # one account per employee: their report, disputes and targets are theirs alone
            raise click.BadParameter(f"employee {employee_id} already has the account {linked}",
                                     param_hint="--employee-id")
        user = User(email=email, name=name, employee_id=employee_id)
        user.roles = roles
        if service:
            user.password_hash = NO_PASSWORD
        else:
            user.set_password(password)
        session.add(user)
    click.echo(f"created {email} ({', '.join(sorted(roles))}){' as a service account' if service else ''}")


@users.command("list")
@with_appcontext
def list_users():
    """List the accounts and their roles."""
    with transaction() as session:
        for user in session.scalars(select(User).order_by(User.email)):
            state = "" if user.active else "  (inactive)"
            click.echo(f"{user.email:32} {user.name:28} {', '.join(sorted(user.roles))}{state}")


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
    with transaction() as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if user is None:
            raise click.BadParameter(f"no user has e-mail {email}", param_hint="EMAIL")
        allowed = token_scopes_of(user)
        if not allowed:
            raise click.BadParameter(f"{email} holds no role allowed API tokens ({', '.join(TOKEN_ROLES)}); "
                                     f"create a service account: plaudit users create bot@... --name Bot "
                                     f"--role hr --service", param_hint="EMAIL")
        beyond = sorted(set(scopes) - set(allowed))
        if beyond:
            raise click.BadParameter(f"{email} is a shopper: their token may hold only "
                                     f"{' and '.join(SHOPPER_SCOPES)}, not {', '.join(beyond)}", param_hint="--scope")
        token, plain = ApiToken.issue(user, name, list(scopes))
        if days is not None:
            token.expires_at = utcnow() + timedelta(days=days)
        session.add(token)
        expiry = f" It stops working on {token.expires_at:%Y-%m-%d %H:%M} UTC." if days is not None else ""
    click.echo(plain)
    click.echo(f"Store it now: Plaudit keeps only its hash and cannot show it again.{expiry}", err=True)


@tokens.command("list")
@with_appcontext
def list_tokens():
    """List API tokens by prefix, with owner, scopes, last use and state."""
    with transaction() as session:
        for token in session.scalars(select(ApiToken).order_by(ApiToken.created_at)):
            state = ("revoked" if token.revoked_at else
                     "expired" if token.expires_at and token.expires_at <= utcnow() else "active")
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
            click.echo(f"{token.prefix}  {state:8} {token.user.email:32} {' '.join(token.scopes):30} "
                       f"{used}  {token.name}")


@tokens.command("revoke")
@click.argument("prefix")
@with_appcontext
def revoke_token(prefix):
    """Revoke the token that starts with PREFIX (as `plaudit tokens list` shows it; 8 characters or more)."""
    if len(prefix) < 8:
        raise click.BadParameter("give at least 8 characters of the token", param_hint="PREFIX")
    with transaction() as session:
        matches = session.scalars(select(ApiToken).where(
            ApiToken.prefix.startswith(prefix[:12], autoescape=True))).all()
        if len(matches) != 1:
            raise click.BadParameter(f"{len(matches) or 'no'} tokens start with {prefix}", param_hint="PREFIX")
        token = matches[0]
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            record_audit(session, "api_token.revoked", token, after={"prefix": token.prefix})
    click.echo(f"revoked {token.prefix} ({token.name})")
