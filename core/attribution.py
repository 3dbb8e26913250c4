"""Attribution: which employee a feedback item is about, under the policy in force."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import local_time
from .channel import FeedbackDraft, IdentityRef, candidates
from .models import Employee, EmployeeIdentity

log = logging.getLogger(__name__)

#: Who an item can be attributed to: the employee it explicitly names (a shopper's report, a kudos), the
#: ticket's assignee when solved or when rated, the last agent who replied in public, or a post's author.
ATTRIBUTION_BASES = ("subject", "assignee_at_solve", "assignee_at_rating", "last_public_replier", "author")


class Known(NamedTuple):
    """An employee an identity names, as attribution needs them."""

    employee_id: int
    team_id: int | None
    #: The day they joined, if known: an item from before it is not theirs.
    started_on: date | None

    def there_at(self, moment: datetime) -> bool:
        return joined_by(self.started_on, moment)


def joined_by(started_on: date | None, moment: datetime) -> bool:
    """Whether someone who joined on ``started_on`` (None: not known) had joined at ``moment``. Before, an identity
    handed on to them (a desk phone) named whoever had it then, and the item waits in the queue as for an identity
    nobody has."""
    return started_on is None or moment >= local_time.midnight(started_on)


@dataclass(frozen=True)
class Attribution:
    employee_id: int | None
    team_id: int | None
    #: The basis that attributed the item; None while it waits in the unattributed queue.
    policy: str | None
    #: The identity the channel offered under that basis, kept so a manager can map it later.
    identity: IdentityRef | None
    #: While the item waits: the basis the policy accepted for ``identity``, so mapping that identity later
    #: credits the item as if it had been known (None when the policy accepts none of the draft's bases).
    offered_basis: str | None = None


def chosen_identity(draft: FeedbackDraft, policy: Sequence[str]) -> tuple[str, tuple[IdentityRef, ...]] | None:
    """Return the first basis in ``policy`` the draft offers, with its candidate identities in order.

    There is no fall-through to a later basis when no candidate is known: crediting someone else because
    the assignee is not yet mapped would be wrong, so such an item waits for a manager instead.
    """
    for basis in policy:
        offered = candidates(draft.identities.get(basis))
        if offered:
            return basis, offered
    return None


def employees_by_address(session: Session, addresses: Iterable[str]) -> dict[str, Known]:
    """The employees whose own e-mail address these are, whatever the case: {address as given: (id, team, the
    day they joined)}.

    An employee is known by their address, identity row or not (a helpdesk trigger names the assignee by
    {{ticket.assignee.email}}); callers let an ``email`` identity row naming the address win over it.
    """
    wanted = {address.strip().lower(): address for address in addresses}
    if not wanted:
        return {}
    return {wanted[address]: Known(employee_id, team_id, started_on)
            for address, employee_id, team_id, started_on in session.execute(
                select(func.lower(Employee.email), Employee.id, Employee.team_id, Employee.started_on)
                .where(func.lower(Employee.email).in_(sorted(wanted))))}


def _known_by_address(session: Session, addresses: Sequence[str], known: dict) -> None:
    missing = [address for address in addresses if ("email", address) not in known]
    for address, found in employees_by_address(session, missing).items():
        known.setdefault(("email", address), found)


def attribute(session: Session, drafts: Sequence[FeedbackDraft], policy: Sequence[str],
              plugins) -> list[Attribution]:
    """Attribute every draft: one query per identity provider, one plugin call per unknown identity.

    Of a basis's candidates the first that belongs to an employee who had joined when the item happened wins;
    when none does, the first is kept as the offered identity, so a manager can map it.
    """
    choices = [chosen_identity(draft, policy) for draft in drafts]
    first_draft: dict[tuple[str, str], FeedbackDraft] = {}
    for draft, choice in zip(drafts, choices, strict=True):
        for ref in choice[1] if choice else ():
            first_draft.setdefault((ref.provider, ref.external_id), draft)
    known: dict[tuple[str, str], Known] = {}
    by_provider: dict[str, list[str]] = {}
    for provider, external_id in sorted(first_draft):
        by_provider.setdefault(provider, []).append(external_id)
    for provider, ids in by_provider.items():  # a plain IN per provider: PostgreSQL balks at huge tuple INs
        rows = session.execute(
            select(EmployeeIdentity.external_id, Employee.id, Employee.team_id, Employee.started_on)
            .join(Employee, Employee.id == EmployeeIdentity.employee_id)
            .where(EmployeeIdentity.provider == provider, EmployeeIdentity.external_id.in_(ids)))
        known.update({(provider, ext): Known(emp, team, started) for ext, emp, team, started in rows})
    _known_by_address(session, by_provider.get("email", ()), known)
    # The hook hears of the candidates before a draft's first known one (those could still win), once each.
    unknown: dict[tuple[str, str], FeedbackDraft] = {}
    for draft, choice in zip(drafts, choices, strict=True):
        for ref in choice[1] if choice else ():
            key = (ref.provider, ref.external_id)
            if key in known:
                if known[key].there_at(draft.occurred_at):
                    break
                continue  # someone who had not joined yet: a later candidate may still win
            unknown.setdefault(key, first_draft[key])
    known.update(_resolve_unknown(session, plugins, unknown))

    results = []
    for draft, choice in zip(drafts, choices, strict=True):
        if choice is None:
            # No basis the policy accepts; keep who the channel named, so a manager can decide.
            offered = next((c for v in draft.identities.values() for c in candidates(v)), None)
            results.append(Attribution(None, None, None, offered))
            continue
        basis, refs = choice
        found = next(((r, known[(r.provider, r.external_id)]) for r in refs if (r.provider, r.external_id) in known
                      and known[(r.provider, r.external_id)].there_at(draft.occurred_at)), None)
        if found:
            ref, who = found
            results.append(Attribution(who.employee_id, who.team_id, basis, ref))
        else:
            results.append(Attribution(None, None, None, refs[0], basis))
    return results


def _resolve_unknown(session: Session, plugins, unknown: dict[tuple[str, str], FeedbackDraft]
                     ) -> dict[tuple[str, str], Known]:
    """Ask the ``resolve_employee`` hook about each unknown identity once; keep answers that name employees."""
    proposed = {key: plugins.resolve_employee(session, key[0], key[1], draft)
                for key, draft in sorted(unknown.items())}
    ids = {employee_id for employee_id in proposed.values() if employee_id is not None}
    employees = {who.employee_id: who for who in (Known(*row) for row in session.execute(
        select(Employee.id, Employee.team_id, Employee.started_on).where(Employee.id.in_(ids))))} if ids else {}
    resolved = {}
    for key, employee_id in proposed.items():
        if employee_id in employees:
            resolved[key] = employees[employee_id]
        elif employee_id is not None:
            log.warning("resolve_employee answered %s for %s:%s, and no employee has that id; "
                        "the item stays unattributed", employee_id, *key)
    return resolved
