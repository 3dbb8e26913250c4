"""Changes to accounts that the CLI makes now and an admin page could make later: each audited, none committed."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import User, UserRole, record_audit
from .models.accounts import NO_PASSWORD


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
