"""The unattributed queue: items no identity matched wait here until a person decides whom they are about.

A decision is one of two: credit the item to an employee (``manual``), or keep it for the organisation only
(``org_only``: it counts in organisation figures and for nobody in particular). Either takes the item out of
the queue for good; both are audited with the item's state before and after.

A channel may propose whom a queued item is about (``Feedback.proposed_employee_id``: the social channel names
the agent whose signed reply a customer answers). A proposal counts for nobody until a person confirms it
(``confirmed``: credited to the proposed employee) or rejects it (``org_only``); the proposal stays on the item,
so the row still says whom the channel suggested.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from . import local_time
from .models import Employee, Feedback, managed_teams, record_audit
from .plugins import get_plugins

# Decisions, not bases: a guideline's attribution policy chooses among core.attribution.ATTRIBUTION_BASES,
# never these two.
#: ``Feedback.attribution_policy`` once a person credited the item to an employee.
MANUAL = "manual"
#: ``Feedback.attribution_policy`` once a person confirmed the channel's proposal: credited to the proposed
#: employee. Not ``manual``, so the item's lineage says the channel named them and a person agreed.
CONFIRMED = "confirmed"
#: ``Feedback.attribution_policy`` once a person decided the item is about nobody in particular (a rejected
#: proposal too).
ORGANISATION_ONLY = "org_only"
#: The values a person's decision leaves: nothing automatic may undo them.
PERSONS_DECISIONS = (MANUAL, CONFIRMED, ORGANISATION_ONLY)

#: Roles that decide queued items (managers know their people; HR knows everyone).
DECIDING_ROLES = ("hr", "manager")


class AttributionError(ValueError):
    """A queued item cannot be decided as asked; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def awaiting_attribution(feedback=Feedback) -> ColumnElement[bool]:
    """SQL: the item waits in the queue (no employee, and nobody has decided it yet)."""
    return and_(feedback.employee_id.is_(None), feedback.attribution_policy.is_(None))


def may_attribute_to(session: Session, user, employee: Employee) -> bool:
    """HR credits anyone else; a manager only the people in the teams they lead. Nobody credits themselves."""
    if user.employee_id is not None and employee.id == user.employee_id:
        return False
    if user.has_role("hr"):
        return True
    if not user.has_role("manager") or user.employee_id is None or employee.team_id is None:
        return False
    return employee.team_id in set(session.scalars(managed_teams(user.employee_id)))


def may_decide_proposal(session: Session, user, item: Feedback) -> bool:
    """Whether ``user`` may decide an item a channel proposed for someone: HR always; a manager only when the
    person proposed is in the teams they lead (an item proposed for nobody is any decider's)."""
    if item.proposed_employee_id is None or user.has_role("hr"):
        return True
    proposed = session.get(Employee, item.proposed_employee_id)
    return proposed is not None and may_attribute_to(session, user, proposed)


def _snapshot(item: Feedback) -> dict:
    return {"employee_id": item.employee_id, "team_id": item.team_id,
            "attribution_policy": item.attribution_policy, "proposed_employee_id": item.proposed_employee_id,
            "status": item.status}


def _credited(session: Session, item: Feedback) -> None:
    # Plugins derive from the credit in this transaction (a credited reply proposes the posts answering it).
    session.flush()
    get_plugins().feedback_credited(session, [item.id])


def _waiting_item(session: Session, feedback_id: int, user) -> Feedback:
    if not user.has_role(*DECIDING_ROLES):
        raise PermissionError("only HR and managers decide unattributed feedback")
    item = session.get(Feedback, feedback_id, with_for_update=True)
    if item is None:
        raise LookupError(f"no feedback item {feedback_id}")
    if item.employee_id is not None or item.attribution_policy is not None:
        decided = ("kept for the organisation only" if item.attribution_policy == ORGANISATION_ONLY
                   else f"attributed to employee {item.employee_id}" if item.employee_id is not None
                   else f"decided ({item.attribution_policy})")
        raise AttributionError("feedback", f"item {feedback_id} no longer waits in the queue: it was {decided}")
    return item


def attribute_item(session: Session, feedback_id: int, user, employee_id: int, *, note: str | None = None
                   ) -> Feedback:
    """Credit a queued item to ``employee_id``, in the team the employee is in now; audited.

    The caller commits. Runs already computed keep their numbers; the next run of the item's period counts it.

    :raises LookupError: when there is no such item.
    :raises AttributionError: naming ``feedback`` when the item was decided already, ``employee`` when there is
        no such active employee.
    :raises PermissionError: unless ``user`` is HR, or a manager of the employee (never the employee).
    """
    item = _waiting_item(session, feedback_id, user)
    employee = session.get(Employee, employee_id)
    if employee is None or not employee.creditable:
        raise AttributionError("employee", f"no active employee {employee_id}; choose one from the list")
    # A leaver is credited what came from the days they worked: the periods they are appraised for.
    why_not = employee.not_working(local_time.day_of(item.occurred_at))
    if why_not:
        raise AttributionError("employee", f"{why_not}: choose someone who worked that day")
    if not may_attribute_to(session, user, employee):
        raise PermissionError("you may credit feedback only to the people in the teams you lead (never yourself)")
    if not may_decide_proposal(session, user, item):
        # Praise a channel proposed for another team's person is not a manager's to give to their own people.
        raise PermissionError("this item is proposed for someone outside your teams: HR decides it")
    before = _snapshot(item)
    item.employee_id, item.team_id, item.attribution_policy = employee.id, employee.team_id, MANUAL
    record_audit(session, "feedback.attributed", item, actor=user, before=before, after=_snapshot(item),
                 note=note)
    _credited(session, item)
    return item


def keep_for_organisation(session: Session, feedback_id: int, user, *, note: str | None = None) -> Feedback:
    """Take a queued item out of the queue for nobody in particular: it counts for the organisation only.

    :raises LookupError: when there is no such item.
    :raises AttributionError: naming ``feedback`` when the item was decided already.
    :raises PermissionError: unless ``user`` is HR. A manager sees the whole queue but not whether an item
        concerns another team, so taking it out of everyone's queue is HR's decision.
    """
    if not user.has_role("hr"):
        raise PermissionError("only HR keeps an item for the organisation only")
    item = _waiting_item(session, feedback_id, user)
    before = _snapshot(item)
    item.attribution_policy = ORGANISATION_ONLY
    record_audit(session, "feedback.kept_for_organisation", item, actor=user, before=before,
                 after=_snapshot(item), note=note)
    return item


def _proposed_employee(session: Session, item: Feedback, user, verb: str) -> Employee:
    """The employee ``item``'s channel proposed, if ``user`` may decide about them."""
    if item.proposed_employee_id is None:
        raise AttributionError("proposed_employee", f"item {item.id} has no proposal to {verb}; credit it to "
                                                    "someone, or HR keeps it for the organisation only")
    employee = session.get(Employee, item.proposed_employee_id)
    if employee is None:  # the key is ON DELETE SET NULL, so only within a concurrent deletion
        raise AttributionError("proposed_employee", f"the proposed employee {item.proposed_employee_id} is gone")
    if not may_attribute_to(session, user, employee):
        if user.employee_id is not None and employee.id == user.employee_id:
            raise PermissionError(f"you may not {verb} a proposal naming yourself")
        raise PermissionError(f"you may {verb} only proposals naming the people in the teams you lead")
    return employee


def confirm_proposal(session: Session, feedback_id: int, user, *, note: str | None = None) -> Feedback:
    """Credit a queued item to the employee its channel proposed, in the team they are in now; audited.

    The caller commits. The next run of the item's period counts it for the employee.

    :raises LookupError: when there is no such item.
    :raises AttributionError: naming ``feedback`` when the item was decided already, ``proposed_employee``
        when it has no proposal or the proposed employee is no longer active.
    :raises PermissionError: unless ``user`` is HR, or a manager of the proposed employee (never that employee).
    """
    item = _waiting_item(session, feedback_id, user)
    employee = _proposed_employee(session, item, user, "confirm")
    why_not = employee.not_working(local_time.day_of(item.occurred_at))
    if why_not:
        raise AttributionError("proposed_employee", f"{why_not}; credit the item to someone else or reject the "
                                                    "proposal")
    before = _snapshot(item)
    item.employee_id, item.team_id, item.attribution_policy = employee.id, employee.team_id, CONFIRMED
    record_audit(session, "feedback.proposal_confirmed", item, actor=user, before=before, after=_snapshot(item),
                 note=note)
    _credited(session, item)
    return item


def reject_proposal(session: Session, feedback_id: int, user, *, note: str | None = None) -> Feedback:
    """Refuse the channel's proposal: the item leaves the queue and counts for the organisation only; audited.

    The proposal stays on the item as the record of what was refused. Unlike keeping an item without a
    proposal for the organisation (HR's decision), a manager may reject a proposal naming one of their
    people: they know whether a reply was that person's.

    :raises LookupError: when there is no such item.
    :raises AttributionError: naming ``feedback`` when the item was decided already, ``proposed_employee``
        when it has no proposal.
    :raises PermissionError: unless ``user`` is HR, or a manager of the proposed employee (never that employee).
    """
    item = _waiting_item(session, feedback_id, user)
    _proposed_employee(session, item, user, "reject")
    before = _snapshot(item)
    item.attribution_policy = ORGANISATION_ONLY
    record_audit(session, "feedback.proposal_rejected", item, actor=user, before=before, after=_snapshot(item),
                 note=note)
    return item
