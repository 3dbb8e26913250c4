"""Whom a manager names to credit a disputed item to: a pick from the list, or a name typed in full."""
from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, or_, select

from core.db import get_session
from core.models import Employee, Team
from web.arguments import is_id
from web.scope import visible_employees

#: What a pick from the list fills in: "Name (Team)", and "Name (Team) #12" where two would read alike.
NAME_AND_TEAM = re.compile(r"(?P<name>.+?) \((?P<team>[^()]+)\)")
NUMBERED = re.compile(r".+ #(?P<id>\d{1,10})")
SUGGESTED = 5


def pick_labels(people) -> dict[int, str]:
    """What picking each of ``people`` (rows with ``id``, ``name``, ``team``) fills in: "Name (Team)", with the
    id after it for two that would read alike (a leaver hired again, two teams of one name)."""
    shown = {person.id: f"{person.name} ({person.team})" if person.team else person.name for person in people}
    alike = Counter(shown.values())
    return {id_: label if alike[label] == 1 else f"{label} #{id_}" for id_, label in shown.items()}


def credited_employee(raw: str, user) -> int:
    """The id of the one creditable person in ``user``'s scope whom ``raw`` names.

    ``raw`` is a pick from the list ("Bob Baker (Support)"), a name in full in any case, or an id (older forms).
    :raises LookupError: naming nobody, or several; the message says whom it might have meant.
    """
    if is_id(raw):
        return int(raw)
    if (numbered := NUMBERED.fullmatch(raw)) and is_id(numbered["id"]):  # one of two alike, by its id
        return int(numbered["id"])
    session = get_session()

    def called(name: str, *where) -> list[int]:
        # Exactly as written, else in other case: SQLite's lower() folds ASCII letters only, so "Åsa" needs both.
        return session.scalars(select(Employee.id).outerjoin(Team, Team.id == Employee.team_id).where(
            visible_employees(user), Employee.creditable,
            or_(Employee.name == name, func.lower(Employee.name) == name.lower()), *where).limit(2)).all()

    named = called(raw)
    if not named and (picked := NAME_AND_TEAM.fullmatch(raw)):
        named = called(picked["name"], Team.name == picked["team"])
    if len(named) == 1:
        return named[0]
    if named:
        raise LookupError(f"more than one person in your scope is called {raw!r}: pick the one you mean from "
                          f"the list")
    # A first name, or the start of one: say whom it may mean rather than guess.
    like = session.scalars(select(Employee.name).where(
        visible_employees(user), Employee.creditable,
        func.lower(Employee.name).startswith(raw.lower(), autoescape=True))
        .order_by(Employee.name).limit(SUGGESTED + 1)).all()
    if like:
        shown = ", ".join(like[:SUGGESTED]) + (" or another" if len(like) > SUGGESTED else "")
        raise LookupError(f"nobody in your scope is called {raw!r} in full: did you mean {shown}? Pick the "
                          f"person from the list")
    raise LookupError(f"nobody in your scope is called {raw!r}: pick the person from the list")
