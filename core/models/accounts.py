"""People who sign in (users with roles) and machines that call the API (hashed, scoped tokens)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Base, utcnow

ROLES = ("admin", "hr", "manager", "employee", "shopper")
#: The password hash of a service account: no password hashes to it, so it can never sign in.
NO_PASSWORD = "!service-account"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: Counted up to end every session of the account (a deactivation): see :meth:`session_fingerprint`.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    employee = relationship("Employee")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    @roles.setter
    def roles(self, names) -> None:
        unknown = set(names) - set(ROLES)
        if unknown:
            raise ValueError(f"roles: unknown {', '.join(sorted(unknown))}; choose from {', '.join(ROLES)}")
        self.role_rows = [UserRole(role=r) for r in sorted(set(names))]

    def has_role(self, *names: str) -> bool:
        return bool(self.roles & set(names))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        if self.password_hash == NO_PASSWORD:
            return False
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """What a session keeps of its user: the id and :meth:`session_fingerprint`, which the user loader checks,
        so a new password (``plaudit users set-password``) signs out every browser signed in with the old one."""
        return f"{self.id}:{self.session_fingerprint()}"

    def session_fingerprint(self) -> str:
        # Keyed, so the (readable, signed) session cookie tells nothing about the password hash. The epoch makes
        # a deactivation end every session for good: activating the account again does not bring them back.
        key = current_app.config["SECRET_KEY"].encode()
        return hmac.new(key, f"{self.session_epoch}:{self.password_hash}".encode(), hashlib.sha256).hexdigest()[:24]

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="known_role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


def hash_token(token: str) -> str:
    # Tokens are long random strings, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @classmethod
    def issue(cls, user: User, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
        """Create a token for ``user``; return the row and the plain token, which is never stored."""
        plain = "pld_" + secrets.token_urlsafe(32)
        return cls(user=user, name=name, scopes=sorted(set(scopes)), token_hash=hash_token(plain),
                   prefix=plain[:12]), plain

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}…>"
