"""Whose data an API call may read: a token acts for its owner, and sees what that owner's role sees.

Tokens belong to admin or HR accounts (core.auth.TOKEN_ROLES). People's data (employees, teams, feedback,
results, targets, recommendations) is HR's, as on the web pages (web/scope.py): an admin's token reads
the records about nobody (runs, guideline versions) and gets 403 for people's.
"""
from __future__ import annotations

from flask import g
from flask_smorest import abort

from core.db import get_session
from web.scope import ORG_WIDE, sees_everyone

from .arguments import MAX_ID


def token_owner():
    """The user the request's API token acts for (set by ``core.auth.token_required``)."""
    return g.api_token.user


def require_people_reader() -> None:
    """Refuse with 403 unless the token's owner may read every employee's data."""
    if not sees_everyone(token_owner()):
        abort(403, message=f"people's data needs a token of an account holding "
                           f"{' or '.join(repr(r) for r in ORG_WIDE)}; this token's owner holds none")


def get_or_404(model, ident: int, what: str):
    """The row of ``model`` with id ``ident``, or a 404 naming ``what``."""
    row = get_session().get(model, ident) if 0 < ident <= MAX_ID else None
    if row is None:
        abort(404, message=f"no {what} {ident}")
    return row


def first_or_404(statement, ident: int, what: str):
    """The first row ``statement`` (narrowed to ``ident`` by the caller) reads, or a 404 naming ``what``."""
    row = get_session().execute(statement).first() if 0 < ident <= MAX_ID else None
    if row is None:
        abort(404, message=f"no {what} {ident}")
    return row
