"""Changes to accounts, made by ``plaudit users`` and the admin's Accounts page alike: each audited, none committed."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Employee, User, UserRole, record_audit
from .models.accounts import NO_PASSWORD
from .throttle import attempt_keys, clear_account


def user_by_email(session: Session, email: str) -> User | None:
    """The account with ``email``, in any case and without surrounding spaces: addresses are stored as typed
    (``HR.Lead@Example.org``), and every lookup, sign-in or ``--by``, must find them however they are typed."""
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def set_user_active(session: Session, user: User, active: bool, *, actor=None) -> None:
    """Mark ``user`` active or inactive, audited. The caller commits.

    Inactive, they cannot sign in, a browser signed in is signed out at its next request (core/auth.py loads
    active users only) and their API tokens are refused (401).
    """
    user.active = active
    if not active:  # every session ends now, and stays ended when the account is activated again
        user.session_epoch = (user.session_epoch or 0) + 1
    record_audit(session, "user.activated" if active else "user.deactivated", user, actor=actor,
                 before={"active": not active}, after={"active": active})


def signs_in_as_admin(user: User) -> bool:
    """Whether ``user`` can reach the admin pages now: active, with a password, holding the role."""
    return user.active and user.password_hash != NO_PASSWORD and user.has_role("admin")


def is_last_admin(session: Session, user: User) -> bool:
    """Whether ``user`` is the only account that can sign in to the admin pages (inactive admins and service
    accounts cannot, so they do not count): taking that away would leave nobody to run the system."""
    if not signs_in_as_admin(user):
        return False
    others = session.scalar(select(func.count()).select_from(User).join(UserRole).where(
        UserRole.role == "admin", User.active.is_(True), User.password_hash != NO_PASSWORD, User.id != user.id))
    return not others


#: The shortest and longest password taken. The sign-in form takes at most 200 characters (web/sessions.py):
#: a longer password could never be typed in.
PASSWORD_LENGTH = (8, 200)


class AccountError(ValueError):
    """A change to an account refused; ``field`` names what is at fault (``email``, ``roles``, ``employee``,
    ``password``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def password_problem(password: str) -> str | None:
    """Why ``password`` is not taken, if it is not."""
    shortest, longest = PASSWORD_LENGTH
    if len(password) < shortest:
        return f"use at least {shortest} characters"
    if len(password) > longest:
        return f"use at most {longest} characters (the sign-in form takes no more)"
    return None


def set_account_password(session: Session, user: User, password: str, *, action: str = "user.password_set",
                         actor=None) -> None:
    """Give ``user`` a new password, audited as ``action``; the caller commits. Every browser signed in with the
    old one is signed out (the session fingerprint holds the hash), and the account's failed sign-ins, counted
    against the old one, are forgotten: the address keeps its count, as after a good sign-in (core/throttle.py)."""
    user.set_password(password)
    clear_account(session, attempt_keys(current_app.config["SECRET_KEY"], user.email, None))
    record_audit(session, action, user, actor=actor)


def last_admin_refusal(session: Session, user: User, doing: str) -> str | None:
    """Why ``doing`` to ``user`` is refused, if they are the last account that can run the admin pages."""
    if not is_last_admin(session, user):
        return None
    return (f"{user.email} is the last active admin: {doing} would leave nobody to run the admin pages; first "
            f"give another account the role")


def create_account(session: Session, *, email: str, name: str, roles, employee_id: int | None = None,
                   password: str | None = None, actor=None) -> User:
    """A new account, audited; with no ``password``, a service account (API tokens only). The caller commits.

    :raises AccountError: for an address taken, an unknown employee or one with an account already.
    """
    if user_by_email(session, email):
        raise AccountError("email", f"a user with e-mail {email.strip()} exists")
    if employee_id is not None:
        link_refusal = _link_refusal(session, employee_id, None)
        if link_refusal:
            raise AccountError("employee", link_refusal)
    user = User(email=email.strip(), name=name, employee_id=employee_id)
    user.roles = roles
    if password is None:
        user.password_hash = NO_PASSWORD
    else:
        user.set_password(password)
    session.add(user)
    session.flush()
    record_audit(session, "user.created", user, actor=actor, after={
        "email": user.email, "roles": sorted(set(roles)), "employee_id": employee_id, "service": password is None})
    return user


def change_roles(session: Session, user: User, after, *, actor=None) -> frozenset[str]:
    """Give ``user`` exactly the roles ``after``, audited; return the roles before. The caller commits.

    :raises AccountError: when it takes the admin role from the last admin.
    """
    before, after = user.roles, frozenset(after)
    if "admin" in before - after:
        refusal = last_admin_refusal(session, user, "taking its admin role away")
        if refusal:
            raise AccountError("roles", refusal)
    if after != before:
        user.role_rows = ([row for row in user.role_rows if row.role in after]
                          + [UserRole(role=role) for role in sorted(after - before)])
        record_audit(session, "user.roles_changed", user, actor=actor, before={"roles": sorted(before)},
                     after={"roles": sorted(after)})
    return before


def link_account(session: Session, user: User, employee_id: int | None, *, actor=None) -> bool:
    """Link ``user`` to employee ``employee_id`` (None: to nobody), audited; whether it changed.

    :raises AccountError: for an unknown employee, or one another account is linked to.
    """
    if employee_id is not None:
        refusal = _link_refusal(session, employee_id, user.id)
        if refusal:
            raise AccountError("employee", refusal)
    before = user.employee_id
    if before == employee_id:
        return False
    user.employee_id = employee_id
    record_audit(session, "user.linked" if employee_id else "user.unlinked", user, actor=actor,
                 before={"employee_id": before}, after={"employee_id": employee_id})
    return True


def _link_refusal(session: Session, employee_id: int, user_id: int | None) -> str | None:
    employee = session.get(Employee, employee_id)
    if employee is None:
        return f"no employee has id {employee_id}"
    # One account per employee: their report, disputes and targets are theirs alone.
    linked = session.scalar(select(User.email).where(User.employee_id == employee_id, User.id != user_id))
    return f"{employee.name} (employee {employee_id}) already has the account {linked}" if linked else None


def hold_admins(session: Session) -> None:
    """Lock every admin's account row, in one order, before a change the last-admin rule guards: two admins
    shutting each other out at once otherwise both pass the check, each on what the other had not yet changed."""
    session.scalars(select(User.id).join(UserRole).where(UserRole.role == "admin").order_by(User.id)
                    .with_for_update(of=User)).all()
