"""Late attribution: items waiting for an identity nobody had are credited once someone is given it.

An item waits in the queue when the identity its channel offered (an agent id, a sign-off) belonged to no
employee. When that identity is mapped later (``plaudit org import``), the item is credited as ingestion
would have credited it had the identity been known: to the identity's employee, under the basis it was
offered under, if the policy in force still accepts that basis. Items a person has decided are never
touched. Every crediting is audited, and plugins hear of it through ``feedback_credited``.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .attribution import joined_by
from .db import slices
from .models import Employee, EmployeeIdentity, Feedback, record_audit, utcnow
from .plugins import get_plugins
from .policy import ingestion_policy


def credit_mapped_identities(session: Session, identities: Iterable[tuple[str, str]], *, actor=None) -> list[int]:
    """Credit the waiting items that named one of ``identities`` ((provider, external_id), as stored).

    An ``email`` identity is also the address of the employee whose e-mail it is (attribution reads it so), with
    an identity row naming it winning. An item from before the day its employee joined keeps waiting. One query
    for the items and their employees (two with addresses), one UPDATE; returns the ids credited. The caller
    commits.
    """
    named = sorted({f"{provider}:{external_id}" for provider, external_id in identities})
    if not named:
        return []
    bases = ingestion_policy(session).attribution
    waiting = (Feedback.employee_id.is_(None), Feedback.attribution_policy.is_(None),
               Feedback.offered_basis.in_(bases), Employee.active)
    identity = EmployeeIdentity.provider + ":" + EmployeeIdentity.external_id
    columns = (Feedback.id, Feedback.attributed_identity, Feedback.offered_basis, Employee.id, Employee.team_id,
               Feedback.occurred_at, Employee.started_on)
    rows = [row for part in slices(named) for row in session.execute(
        select(*columns)
        .join(EmployeeIdentity, identity == Feedback.attributed_identity)
        .join(Employee, Employee.id == EmployeeIdentity.employee_id)
        .where(Feedback.attributed_identity.in_(part), *waiting))]
    rows.sort(key=lambda row: row[0])
    addresses = sorted({name.lower() for name in named if name.startswith("email:")})
    if addresses:
        # An address is also its employee's by their e-mail, as attribution reads it; an identity row wins.
        found = {row[0] for row in rows}
        rows += [row for part in slices(addresses) for row in session.execute(
            select(*columns)
            .join(Employee, "email:" + func.lower(Employee.email) == Feedback.attributed_identity)
            .where(Feedback.attributed_identity.in_(part), *waiting)) if row[0] not in found]
        rows.sort(key=lambda row: row[0])
    # Not what happened before they joined: an identity handed on (a desk phone) named the one before them.
    rows = [row for row in rows if joined_by(row.started_on, row.occurred_at)]
    if not rows:
        return []
    session.execute(update(Feedback), [
        {"id": item_id, "employee_id": employee_id, "team_id": team_id, "attribution_policy": basis,
         "changed_at": utcnow()} for item_id, _, basis, employee_id, team_id, *_ in rows])
    credited = [row[0] for row in rows]
    by_identity: dict[str, list[int]] = {}
    for item_id, name, *_ in rows:
        by_identity.setdefault(name, []).append(item_id)
    for name, item_ids in sorted(by_identity.items()):
        # One entry per identity: a sign-off mapped late may credit thousands of replies at once.
        employee_id = next(row[3] for row in rows if row[1] == name)
        record_audit(session, "feedback.credited_on_mapping", session.get(Employee, employee_id), actor=actor,
                     after={"identity": name, "feedback_ids": item_ids})
    get_plugins().feedback_credited(session, credited)
    return credited
