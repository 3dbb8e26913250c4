"""Human decisions on what counts: HR decides flags, managers or HR decide disputes and recommendations.

Every decision is audited with the state before and after, and changes an item's status only through here.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.local_time import day_of
from core.models import Dispute, Employee, Feedback, Flag, record_audit, utcnow
from core.plugins import get_plugins

from .models import Recommendation
from .targets import managed_team_ids


class DecisionError(ValueError):
    """A decision cannot be taken as asked (already decided, wrong outcome); the message says why."""


def _snapshot(item: Feedback) -> dict:
    return {"status": item.status, "employee_id": item.employee_id, "attribution_policy": item.attribution_policy}


def decide_flag(session: Session, flag_id: int, user, *, uphold: bool, note: str | None = None) -> Flag:
    """Uphold a flag (the item stays out of the numbers) or dismiss it (the item counts, unless another
    flag on it is still open or upheld). HR only.

    :raises PermissionError: for anyone but HR or an admin.
    :raises LookupError: when there is no such flag.
    :raises DecisionError: when it was decided already.
    """
    if not user.has_role("hr", "admin"):
        raise PermissionError("only HR decides integrity flags")
    flag = session.get(Flag, flag_id, with_for_update=True)
    if flag is None:
        raise LookupError(f"no flag {flag_id}")
    subject = flag.employee_id if flag.feedback_id is None else session.scalar(
        select(Feedback.employee_id).where(Feedback.id == flag.feedback_id))
    if subject is not None and subject == user.employee_id:
        raise PermissionError("a flag about your own feedback is for another HR colleague to decide")
    if flag.decision is not None:
        raise DecisionError(f"flag {flag_id} was already {flag.decision}")
    flag.decision, flag.decided_by, flag.decided_at, flag.decision_note = (
        "upheld" if uphold else "dismissed", user.id, utcnow(), note)
    item_before = item_after = None
    if flag.feedback_id is not None:
        item = session.get(Feedback, flag.feedback_id, with_for_update=True)
        item_before = _snapshot(item)
        others = session.scalar(select(func.count()).select_from(Flag).where(
            Flag.feedback_id == item.id, Flag.id != flag.id, Flag.decision.is_distinct_from("dismissed")))
        if uphold:
            item.status = "excluded"
        elif not others and item.status == "quarantined":
            item.status = "accepted"
        item_after = _snapshot(item)
    record_audit(session, "flag.upheld" if uphold else "flag.dismissed", flag, actor=user,
                 before={"decision": None, "feedback": item_before},
                 after={"decision": flag.decision, "feedback": item_after}, note=note)
    return flag


def raise_dispute(session: Session, feedback_id: int, user, reason: str) -> Dispute:
    """An employee disputes an item credited to them; it keeps counting until the dispute is decided.

    Items that stand or fall together (``related_feedback``: one mystery report's items) take one open
    dispute between them.

    :raises PermissionError: when the item is not credited to the user's own employee record.
    :raises DecisionError: without a reason, or when the item or one related to it has an open dispute.
    """
    item = session.get(Feedback, feedback_id)
    related = _lock_with_related(session, item) if item is not None else []
    if item is None or user.employee_id is None or item.employee_id != user.employee_id:
        raise PermissionError("you can dispute only feedback credited to you")
    if item.status == "excluded":  # a dispute upheld, a flag, a ticket deleted: nothing is left to dispute
        raise DecisionError(f"feedback {feedback_id} no longer counts (it was excluded): there is nothing to dispute")
    if not reason or not reason.strip():
        raise DecisionError("reason: say why the item is wrong")
    group = [feedback_id, *(other.id for other in related)]
    disputed = session.scalar(select(Dispute.feedback_id).where(Dispute.feedback_id.in_(group),
                                                                Dispute.status == "open").limit(1))
    if disputed == feedback_id:
        raise DecisionError(f"feedback {feedback_id} already has an open dispute")
    if disputed is not None:
        raise DecisionError(f"feedback {feedback_id} already has an open dispute: the one on feedback "
                            f"{disputed}, which stands or falls with it")
    dispute = Dispute(feedback_id=feedback_id, raised_by=user.id, reason=reason.strip())
    session.add(dispute)
    session.flush()
    record_audit(session, "dispute.raised", dispute, actor=user, after={"feedback_id": feedback_id,
                                                                       "reason": dispute.reason})
    return dispute


def may_decide_for(session: Session, user, employee_id: int | None) -> bool:
    """HR decides for anyone else; a manager for the people in the teams they lead. Nobody for themselves."""
    if employee_id is not None and employee_id == user.employee_id:
        return False
    if user.has_role("hr", "admin"):
        return True
    if not user.has_role("manager") or user.employee_id is None or employee_id is None:
        return False
    if employee_id == user.employee_id:
        return False
    team_id = session.scalar(select(Employee.team_id).where(Employee.id == employee_id))
    return team_id in managed_team_ids(session, user.employee_id)


def _refusal(user, employee_id: int | None, what: str) -> str:
    """Why ``user`` may not decide: one's own case (HR too), else not their people."""
    if employee_id is not None and employee_id == user.employee_id:
        return f"nobody decides their own {what}: another HR person or your manager does"
    return f"only HR or the employee's manager decides this {what}"


def decide_dispute(session: Session, dispute_id: int, user, *, uphold: bool, outcome: str,
                   reassign_to: int | None = None) -> Dispute:
    """Uphold a dispute (the item is excluded, or credited to ``reassign_to``) or reject it (it stands).

    An upheld decision applies to the items that stand or fall with the disputed one too (``related_feedback``),
    in the same transaction and audit entry; plugins then follow it in their own data (``dispute_decided``).

    :raises PermissionError: unless the user is HR, or a manager of the disputing employee (and of whoever a
        related item is credited to).
    :raises DecisionError: when already decided, or without an outcome to tell the employee.
    """
    dispute = session.get(Dispute, dispute_id, with_for_update=True)
    if dispute is None:
        raise LookupError(f"no dispute {dispute_id}")
    item = session.get(Feedback, dispute.feedback_id)
    related = _lock_with_related(session, item)
    if not may_decide_for(session, user, item.employee_id):
        raise PermissionError(_refusal(user, item.employee_id, "dispute"))
    for other in related:
        if other.employee_id != item.employee_id and not may_decide_for(session, user, other.employee_id):
            raise PermissionError(f"feedback {other.id} stands or falls with the disputed item and is credited "
                                  f"to someone whose disputes you do not decide; ask HR")
    if dispute.status != "open":
        raise DecisionError(f"dispute {dispute_id} was already {dispute.status}")
    if not outcome or not outcome.strip():
        raise DecisionError("outcome: tell the employee what was decided and why")
    group = [item, *related]
    before = [_snapshot(each) for each in group]
    if uphold and reassign_to is not None:
        employee = session.get(Employee, reassign_to)
        if employee is None or not employee.creditable:
            raise DecisionError(f"reassign_to: no active employee {reassign_to}")
        why_not = employee.not_working(day_of(item.occurred_at))
        if why_not:  # a leaver takes what came from the days they worked
            raise DecisionError(f"reassign_to: {why_not}: credit it to someone who worked that day")
        if employee.id == item.employee_id:  # "upheld", yet it would still count for the one who disputed it
            raise DecisionError(f"reassign_to: the item already counts for {employee.name}, who disputes it; credit "
                                f"it to the colleague it is about, or leave this empty so it counts for nobody")
        if not may_decide_for(session, user, reassign_to):
            raise PermissionError("you may credit feedback only to people you manage (never to yourself)")
        for each in group:
            each.employee_id, each.team_id, each.attribution_policy = employee.id, employee.team_id, "manual"
    elif uphold:
        for each in group:
            each.status = "excluded"
    dispute.status = "upheld" if uphold else "rejected"
    dispute.outcome, dispute.decided_by, dispute.decided_at = outcome.strip(), user.id, utcnow()
    dispute.reassigned_to = reassign_to if uphold else None
    audit_before, audit_after = {"feedback": before[0]}, {"feedback": _snapshot(item), "outcome": dispute.outcome}
    if related:  # one entry for the decision, naming every item it changed
        audit_before["related"] = [{"id": each.id} | snapshot for each, snapshot in zip(related, before[1:])]
        audit_after["related"] = [{"id": each.id} | _snapshot(each) for each in related]
    record_audit(session, f"dispute.{dispute.status}", dispute, actor=user, before=audit_before,
                 after=audit_after, note=outcome)
    get_plugins().dispute_decided(session, dispute, group)
    return dispute


def _lock_with_related(session: Session, item: Feedback) -> list[Feedback]:
    """Lock ``item`` and the items that stand or fall with it (``related_feedback``); return those others.

    All in id order, so a dispute raised on one item of a group and one decided on another cannot deadlock;
    the rows are read again under the lock.
    """
    ids = [item.id, *get_plugins().related_feedback(session, item)]
    locked = session.scalars(select(Feedback).where(Feedback.id.in_(ids)).order_by(Feedback.id)
                             .with_for_update().execution_options(populate_existing=True))
    return [each for each in locked if each.id != item.id]


def decide_recommendation(session: Session, recommendation_id: int, user, *, approve: bool,
                          note: str | None = None) -> Recommendation:
    """Approve or reject a proposed recommendation; HR, or the employee's manager.

    :raises PermissionError: for anyone else.
    :raises DecisionError: when it is not awaiting a decision.
    """
    recommendation = session.get(Recommendation, recommendation_id, with_for_update=True)
    if recommendation is None:
        raise LookupError(f"no recommendation {recommendation_id}")
    if not may_decide_for(session, user, recommendation.employee_id):
        raise PermissionError(_refusal(user, recommendation.employee_id, "recommendation"))
    if recommendation.status != "proposed":
        raise DecisionError(f"recommendation {recommendation_id} is already {recommendation.status}")
    recommendation.status = "approved" if approve else "rejected"
    recommendation.decided_by, recommendation.decided_at, recommendation.decision_note = user.id, utcnow(), note
    record_audit(session, f"recommendation.{recommendation.status}", recommendation, actor=user,
                 before={"status": "proposed"}, after={"status": recommendation.status,
                                                      "amount": recommendation.amount}, note=note)
    return recommendation
