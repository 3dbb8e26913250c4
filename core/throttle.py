"""Login throttling: too many failed sign-ins for one account, or from one address, lock it for a while.

Failures are rows in the database, not counters in process memory or Redis. Every gunicorn process (and
every machine) serving the app shares PostgreSQL, so the limit holds however many processes answer; Redis
is optional (the embedded default runs without it), and an in-process counter would multiply the limit by
the number of processes and forget it on every restart.

The keys are HMACs of the e-mail and the address under the app's secret key: what someone typed into the
e-mail field (now and then a password) is never stored, and the table tells nobody who tried what.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .models import LoginFailure, utcnow


@dataclass(frozen=True)
class LoginLimits:
    """How many failures lock an account or an address, and for how long (``PLAUDIT_LOGIN_*``)."""

    per_account: int
    per_address: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Mapping) -> LoginLimits:
        return cls(config["LOGIN_MAX_FAILURES"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
                   timedelta(seconds=config["LOGIN_LOCK_SECONDS"]))


@dataclass(frozen=True)
class AttemptKeys:
    """The keys one sign-in attempt counts against."""

    account: str
    address: str


def attempt_keys(secret: str, email: str, address: str | None) -> AttemptKeys:
    """Key the attempt by the e-mail as typed (case-insensitive, so case cannot dodge it) and the address."""
    def key(kind: str, value: str) -> str:
        return hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    return AttemptKeys(key("account", email.strip().lower()), key("address", address or "unknown"))


def seconds_locked(session: Session, keys: AttemptKeys, limits: LoginLimits, now: datetime | None = None) -> int:
    """Seconds until this attempt may be tried, 0 if it may be tried now.

    A key is locked when it has at least its limit of failures within the window, until the window has
    passed since its latest failure: then every one of them has expired and it starts afresh.
    """
    now = now or utcnow()
    rows = session.execute(
        select(LoginFailure.key, func.count(), func.max(LoginFailure.failed_at))
        .where(LoginFailure.key.in_([keys.account, keys.address]), LoginFailure.failed_at > now - limits.window)
        .group_by(LoginFailure.key)).all()
    limit = {keys.account: limits.per_account, keys.address: limits.per_address}
    waits = [(latest + limits.window - now).total_seconds() for key, count, latest in rows
             if count >= limit[key]]
    return max(1, int(max(waits)) + 1) if waits else 0


def record_failure(session: Session, keys: AttemptKeys, limits: LoginLimits, now: datetime | None = None) -> None:
    """Count a failed attempt against its account and address, and forget failures past the window."""
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - limits.window))
    session.add_all([LoginFailure(key=keys.account, failed_at=now), LoginFailure(key=keys.address, failed_at=now)])


def clear_account(session: Session, keys: AttemptKeys) -> None:
    """Forget an account's failures after a good sign-in.

    The address keeps its count: otherwise someone guessing at many accounts could reset their address by
    signing in to an account of their own between guesses.
    """
    session.execute(delete(LoginFailure).where(LoginFailure.key == keys.account))
