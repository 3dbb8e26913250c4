"""A forgotten password: a link by e-mail, good for an hour and for one new password.

The link's token is signed with the secret key and carries the account's session fingerprint (its password hash
and session epoch, keyed): once a new password is set, or the account is deactivated, the link no longer works.
Nothing is stored for it. Whether an address has an account is never told: the page answers alike either way.
"""
from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import jobs
from .accounts import user_by_email
from .db import transaction
from .mail import send_mail
from .models import AuditEntry, User, record_audit, utcnow
from .models.accounts import NO_PASSWORD

log = logging.getLogger(__name__)

#: How long a link works, in seconds.
LINK_LIFETIME = 3600
#: Links asked for one account in an hour; more are not sent (a mailbox is not to be flooded from the page).
ASKS_PER_HOUR = 3
_SALT = "plaudit.password-reset"


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def reset_token(user: User) -> str:
    """A token that sets ``user``'s password once, within :data:`LINK_LIFETIME`."""
    return _signer().dumps({"user": user.id, "state": user.session_fingerprint(), "to": user.email.lower()})


def user_for_token(session: Session, token: str, *, lock: bool = False) -> User | None:
    """The account ``token`` sets a password for; None when it is forged, expired or already used, or when the
    account's address changed since it was sent (the link went to the old mailbox).

    :param lock: hold the account's row until the caller commits, for setting the password.
    """
    try:
        data = _signer().loads(token, max_age=LINK_LIFETIME)
    except BadData:
        return None
    user_id = data.get("user") if isinstance(data, dict) else None
    user = session.get(User, user_id, with_for_update=lock, populate_existing=lock) if isinstance(
        user_id, int) else None
    if user is None or not signs_in(user) or user.email.lower() != data.get("to"):
        return None
    # Used (a new password since), or the account's sessions were ended: the fingerprint moved on.
    return user if hmac.compare_digest(user.session_fingerprint(), str(data.get("state"))) else None


def signs_in(user: User) -> bool:
    return user.active and user.password_hash != NO_PASSWORD and bool(user.roles)


def ask_for_link(session: Session, email: str) -> None:
    """Queue the link for the account with ``email``, if one signs in and has not asked too often; the caller
    commits. An unknown address does nothing, and says nothing."""
    user = user_by_email(session, email)
    if user is None or not signs_in(user):
        return
    session.refresh(user, with_for_update=True)  # asks at once are counted one after the other
    asked = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.entity_type == "users", AuditEntry.entity_id == str(user.id),
        AuditEntry.action == "user.password_link_asked", AuditEntry.at >= utcnow() - timedelta(hours=1)))
    if asked >= ASKS_PER_HOUR:
        log.warning("password link for user %s not sent: asked %s times within the hour", user.id, asked)
        return
    record_audit(session, "user.password_link_asked", user)
    jobs.enqueue(session, send_link, user.id)


def send_link(user_id: int) -> bool:
    """Job: e-mail the account its link; False when it no longer signs in."""
    with jobs.job_app(), transaction() as session:
        user = session.get(User, user_id)
        if user is None or not signs_in(user):
            return False
        link = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/password/reset?token={reset_token(user)}"
        minutes = LINK_LIFETIME // 60
        send_mail(user.email, "Set a new Plaudit password", (
            f"Hello {user.name},\n\n"
            f"Someone, we hope you, asked to set a new password for {user.email} on Plaudit. Open this link within "
            f"{minutes} minutes to choose one:\n\n{link}\n\n"
            f"It works once. If you did not ask, ignore this message: your password stays as it is.\n"))
    return True
