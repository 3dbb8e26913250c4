"""API tokens issued and revoked, for ``plaudit tokens`` and the admin page alike: each audited, none committed."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .accounts import user_by_email
from .auth import API_SCOPES, SHOPPER_SCOPES, TOKEN_ROLES, token_scopes_of
from .models import ApiToken, AuditEntry, record_audit, utcnow

NAME_LIMIT = 200
#: The longest a token may be issued for, in days: ten years.
LONGEST_DAYS = 3650


class TokenError(ValueError):
    """What is wrong with a token asked for, by field (``owner``, ``name``, ``scopes``, ``days``)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
        self.problems = problems


def issue_token(session: Session, owner_email: str, name: str, scopes: Iterable[str], days: int | None, *,
                actor=None, form: str | None = None) -> tuple[ApiToken, str]:
    """Issue a token acting for the account ``owner_email``; return the row and the token, shown once.

    :param days: until it stops working; None for a token that works until it is revoked.
    :param form: the id of the web form asking (kept in the audit): a form sent again issues nothing more.
    :raises TokenError: naming every field at fault.
    """
    if form and session.scalar(select(AuditEntry.id).where(
            AuditEntry.action == "api_token.created", AuditEntry.after["form"].as_string() == form).limit(1)):
        # A reload of the page that showed it: a second token nobody ever saw would stay live.
        raise TokenError({"form": "this form issued its token already (the page was sent again): nothing more "
                                  "was issued; the token is in the list below"})
    problems: dict[str, str] = {}
    owner = user_by_email(session, owner_email) if owner_email.strip() else None
    allowed: tuple[str, ...] = ()
    if not owner_email.strip():
        problems["owner"] = "give the e-mail of the account the token acts for"
    elif owner is None:
        problems["owner"] = f"no user has e-mail {owner_email.strip()}"
    else:
        allowed = token_scopes_of(owner)
        if not allowed:
            problems["owner"] = (f"{owner.email} holds no role allowed API tokens ({', '.join(TOKEN_ROLES)}); "
                                 f"create a service account: plaudit users create bot@... --name Bot --role hr "
                                 f"--service")
    name = name.strip()
    if not name:
        problems["name"] = "say what the token is for, e.g. 'zendesk bridge'"
    elif len(name) > NAME_LIMIT:
        problems["name"] = f"at most {NAME_LIMIT} characters ({len(name)} given)"
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in API_SCOPES]
    if not scopes:
        problems["scopes"] = "choose at least one scope"
    elif unknown:
        problems["scopes"] = f"no scope {', '.join(unknown)}; choose from {', '.join(API_SCOPES)}"
    elif allowed and (beyond := [scope for scope in scopes if scope not in allowed]):
        problems["scopes"] = (f"{owner.email} is a shopper: their token may hold only "
                              f"{' and '.join(SHOPPER_SCOPES)}, not {', '.join(beyond)}")
    if days is not None and not 1 <= days <= LONGEST_DAYS:
        problems["days"] = f"give a number of days from 1 to {LONGEST_DAYS:,}, or none for no expiry"
    if problems:
        raise TokenError(problems)
    token, plain = ApiToken.issue(owner, name, scopes)
    if days is not None:
        token.expires_at = utcnow() + timedelta(days=days)
    session.add(token)
    session.flush()
    record_audit(session, "api_token.created", token, actor=actor, after={
        "prefix": token.prefix, "name": name, "owner": owner.email, "scopes": scopes,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None, **({"form": form} if form else {})})
    return token, plain


def revoke_token(session: Session, token: ApiToken, *, actor=None) -> bool:
    """Revoke ``token`` now, audited; False when it was revoked already (nothing changes)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    record_audit(session, "api_token.revoked", token, actor=actor, after={"prefix": token.prefix})
    return True


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at and token.expires_at <= (now or utcnow()) else "active"
