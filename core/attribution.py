"""Attribution: which employee a feedback item is about, under the policy in force."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from .channel import FeedbackDraft, IdentityRef
from .models import Employee, EmployeeIdentity


@dataclass(frozen=True)
class Attribution:
    employee_id: int | None
    team_id: int | None
    #: The basis that attributed the item; None while it waits in the unattributed queue.
    policy: str | None
    #: The identity the channel offered under that basis, kept so a manager can map it later.
    identity: IdentityRef | None


def chosen_identity(draft: FeedbackDraft, policy: Sequence[str]) -> tuple[str, IdentityRef] | None:
    """Return the first basis in ``policy`` the draft offers, with its identity.

    There is no fall-through to a later basis when the chosen identity is unknown: crediting someone else
    because the assignee is not yet mapped would be wrong, so such an item waits for a manager instead.
    """
    for basis in policy:
        identity = draft.identities.get(basis)
        if identity is not None:
            return basis, identity
    return None


def attribute(session: Session, drafts: Sequence[FeedbackDraft], policy: Sequence[str],
              plugins) -> list[Attribution]:
    """Attribute every draft with one query for the known identities, asking plugins about the rest."""
    choices = [chosen_identity(draft, policy) for draft in drafts]
    wanted = {(ref.provider, ref.external_id) for choice in choices if choice for _, ref in [choice]}
    known: dict[tuple[str, str], tuple[int, int | None]] = {}
    if wanted:
        rows = session.execute(
            select(EmployeeIdentity.provider, EmployeeIdentity.external_id, Employee.id, Employee.team_id)
            .join(Employee, Employee.id == EmployeeIdentity.employee_id)
            .where(tuple_(EmployeeIdentity.provider, EmployeeIdentity.external_id).in_(sorted(wanted))))
        known = {(provider, ext): (emp, team) for provider, ext, emp, team in rows}

    teams: dict[int, int | None] = {}
    results = []
    for draft, choice in zip(drafts, choices, strict=True):
        if choice is None:
            # No basis the policy accepts; keep who the channel named, so a manager can decide.
            offered = next(iter(draft.identities.values()), None)
            results.append(Attribution(None, None, None, offered))
            continue
        basis, ref = choice
        key = (ref.provider, ref.external_id)
        if key not in known:
            employee_id = plugins.resolve_employee(session, ref.provider, ref.external_id, draft)
            if employee_id is not None:
                if employee_id not in teams:
                    teams[employee_id] = session.scalar(select(Employee.team_id).where(Employee.id == employee_id))
                known[key] = (employee_id, teams[employee_id])
        if key in known:
            employee_id, team_id = known[key]
            results.append(Attribution(employee_id, team_id, basis, ref))
        else:
            results.append(Attribution(None, None, None, ref))
    return results
