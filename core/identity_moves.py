"""Moving an identity from one employee to another: a desk phone passed to a new hire, a helpdesk account
mapped to a duplicate record.

Identities are never re-mapped by the channels themselves (who was credited must not change behind HR's back),
so HR moves one explicitly. The items already credited through it stay with the person who had it, as they were
theirs then, unless HR says they were never theirs (``with_feedback``: a duplicate or wrong record). Waiting items
that named it are credited to the new owner, as when an identity is mapped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .attribution_queue import PERSONS_DECISIONS
from .late_attribution import credit_mapped_identities
from .models import Employee, EmployeeIdentity, Feedback, record_audit, utcnow
from .models.org import normalise_identity
from .plugins import get_plugins


class IdentityMoveError(ValueError):
    """The move is impossible as asked; the message says why, and ``about_employee`` whether the employee given
    it is at fault rather than the identity."""

    def __init__(self, message: str, *, about_employee: bool = False):
        super().__init__(message)
        self.about_employee = about_employee


@dataclass
class IdentityMove:
    identity: str
    before: Employee
    after: Employee
    #: Items credited through the identity that moved with it (``with_feedback``).
    moved: list[int] = field(default_factory=list)
    #: Waiting items that named it, credited now.
    credited: list[int] = field(default_factory=list)


def parse_identity(text: str) -> tuple[str, str]:
    """``provider:id`` as stored (trimmed; an e-mail address in lower case).

    :raises IdentityMoveError: when ``text`` is not ``provider:id``.
    """
    provider, sep, external_id = text.strip().partition(":")
    if not sep or not provider.strip() or not external_id.strip():
        raise IdentityMoveError(f"{text!r} is not provider:id (e.g. phone:214, zendesk:361)")
    provider = provider.strip()
    return provider, normalise_identity(provider, external_id)


def move_identity(session: Session, text: str, employee: Employee, *, with_feedback: bool = False,
                  actor=None) -> IdentityMove:
    """Give the identity ``text`` to ``employee`` (active), audited; the caller commits.

    :raises IdentityMoveError: when nobody has it, ``employee`` has it already, or ``employee`` has left.
    """
    provider, external_id = parse_identity(text)
    name = f"{provider}:{external_id}"
    identity = session.scalar(select(EmployeeIdentity).where(EmployeeIdentity.provider == provider,
                                                            EmployeeIdentity.external_id == external_id))
    if identity is None:
        raise IdentityMoveError(f"nobody is known by {name}: give it to someone with `plaudit org import` "
                                f"(the identities column)")
    if identity.employee_id == employee.id:
        raise IdentityMoveError(f"{name} is {employee.name}'s already", about_employee=True)
    if not employee.active:
        raise IdentityMoveError(f"{employee.name} is inactive (left): `plaudit org activate` them first",
                                about_employee=True)
    before = session.get(Employee, identity.employee_id)
    if provider == "email" and (before.email or "").lower() == external_id:
        # Their digests would still go there while everything naming it was credited to someone else.
        raise IdentityMoveError(f"{name} is {before.name}'s own address: give them another with "
                                f"`plaudit org set-email {before.email} NEW` first")
    identity.employee_id = employee.id
    move = IdentityMove(name, before, employee)
    record_audit(session, "employee.identity_moved", employee, actor=actor,
                 before={"identity": name, "employee_id": before.id},
                 after={"identity": name, "employee_id": employee.id, "with_feedback": with_feedback})
    if with_feedback:
        move.moved = list(session.scalars(
            # Only what the identity credited: an item a person credited to them (or confirmed) stays theirs.
            update(Feedback).where(Feedback.attributed_identity == name, Feedback.employee_id == before.id,
                                   or_(Feedback.attribution_policy.is_(None),
                                       Feedback.attribution_policy.not_in(PERSONS_DECISIONS)))
            .values(employee_id=employee.id, team_id=employee.team_id, changed_at=utcnow(),
                    previous_employee_id=Feedback.employee_id).returning(Feedback.id)
            .execution_options(synchronize_session=False)))
        if move.moved:
            record_audit(session, "feedback.moved_with_identity", employee, actor=actor,
                         before={"employee_id": before.id},
                         after={"identity": name, "feedback_ids": sorted(move.moved)})
            get_plugins().feedback_credited(session, sorted(move.moved))  # as any crediting tells the channels
    session.flush()
    move.credited = credit_mapped_identities(session, [(provider, external_id)], actor=actor)
    return move
