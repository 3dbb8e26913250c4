"""Attribution: which employee a feedback item is about, under the policy in force."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .channel import FeedbackDraft, IdentityRef
from .models import Employee, EmployeeIdentity

log = logging.getLogger(__name__)

#: Who an item can be attributed to: the employee it explicitly names (a shopper's report, a kudos), the
#: ticket's assignee when solved or when rated, the last agent who replied in public, or a post's author.
ATTRIBUTION_BASES = ("subject", "assignee_at_solve", "assignee_at_rating", "last_public_replier", "author")


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
    """Attribute every draft: one query for known identities, one plugin call per unknown identity."""
    choices = [chosen_identity(draft, policy) for draft in drafts]
    first_draft: dict[tuple[str, str], FeedbackDraft] = {}
    for draft, choice in zip(drafts, choices, strict=True):
        if choice:
            first_draft.setdefault((choice[1].provider, choice[1].external_id), draft)
    known: dict[tuple[str, str], tuple[int, int | None]] = {}
    by_provider: dict[str, list[str]] = {}
    for provider, external_id in sorted(first_draft):
        by_provider.setdefault(provider, []).append(external_id)
    for provider, ids in by_provider.items():  # a plain IN per provider: PostgreSQL balks at huge tuple INs
        rows = session.execute(
            select(EmployeeIdentity.external_id, Employee.id, Employee.team_id)
            .join(Employee, Employee.id == EmployeeIdentity.employee_id)
            .where(EmployeeIdentity.provider == provider, EmployeeIdentity.external_id.in_(ids)))
        known.update({(provider, ext): (emp, team) for ext, emp, team in rows})
    known.update(_resolve_unknown(session, plugins, {k: d for k, d in first_draft.items() if k not in known}))

    results = []
    for draft, choice in zip(drafts, choices, strict=True):
        if choice is None:
            # No basis the policy accepts; keep who the channel named, so a manager can decide.
            offered = next(iter(draft.identities.values()), None)
            results.append(Attribution(None, None, None, offered))
            continue
        basis, ref = choice
        employee = known.get((ref.provider, ref.external_id))
        results.append(Attribution(*employee, basis, ref) if employee else Attribution(None, None, None, ref))
    return results


def _resolve_unknown(session: Session, plugins, unknown: dict[tuple[str, str], FeedbackDraft]
                     ) -> dict[tuple[str, str], tuple[int, int | None]]:
    """Ask the ``resolve_employee`` hook about each unknown identity once; keep answers that name employees."""
    proposed = {key: plugins.resolve_employee(session, key[0], key[1], draft)
                for key, draft in sorted(unknown.items())}
    ids = {employee_id for employee_id in proposed.values() if employee_id is not None}
    teams = dict(session.execute(select(Employee.id, Employee.team_id).where(Employee.id.in_(ids))).all()) \
        if ids else {}
    resolved = {}
    for key, employee_id in proposed.items():
        if employee_id in teams:
            resolved[key] = (employee_id, teams[employee_id])
        elif employee_id is not None:
            log.warning("resolve_employee answered %s for %s:%s, and no employee has that id; "
                        "the item stays unattributed", employee_id, *key)
    return resolved
