"""Whose data a signed-in user may see: everyone (HR), the teams they lead (managers), or themselves.

Every page and API list narrows its query with these, so the rule lives in one place. Colleagues' data
never reaches an employee: they see their own rows and averages only.
"""
from __future__ import annotations

from flask import abort
from sqlalchemy import ColumnElement, false, select

from core.models import Employee, Feedback, managed_teams

#: Roles that see every employee's appraisal data.
ORG_WIDE = ("hr",)


def sees_everyone(user) -> bool:
    return user.has_role(*ORG_WIDE)


def visible_employees(user) -> ColumnElement[bool]:
    """A WHERE clause on ``Employee`` for the employees ``user`` may see."""
    if sees_everyone(user):
        return Employee.id.is_not(None)
    clauses = []
    if user.has_role("manager") and user.employee_id is not None:
        clauses.append(Employee.team_id.in_(managed_teams(user.employee_id)))
    if user.has_role("employee") and user.employee_id is not None:
        clauses.append(Employee.id == user.employee_id)
    if not clauses:
        return false()
    return clauses[0] if len(clauses) == 1 else clauses[0] | clauses[1]


def visible_employee_ids(user):
    """A SELECT of the ids ``visible_employees`` admits, for ``IN`` clauses on other tables."""
    return select(Employee.id).where(visible_employees(user))


def visible_feedback(user) -> ColumnElement[bool] | None:
    """A WHERE clause on ``Feedback``: None for all of it, else the teams led or the user's own items.

    Admins see counts of everything for operating the system; HR sees everything to appraise it.
    """
    if user.has_role("admin", "hr"):
        return None
    clauses = []
    if user.has_role("manager") and user.employee_id is not None:
        clauses.append(Feedback.team_id.in_(managed_teams(user.employee_id)))
    if user.has_role("employee") and user.employee_id is not None:
        clauses.append(Feedback.employee_id == user.employee_id)
    if not clauses:
        return false()
    return clauses[0] if len(clauses) == 1 else clauses[0] | clauses[1]


def may_see_employee(session, user, employee_id: int) -> bool:
    return session.scalar(select(Employee.id).where(Employee.id == employee_id, visible_employees(user))) is not None


def employee_or_403(session, user, employee_id: int) -> Employee:
    """The employee, if ``user`` may see them; 403 if they are someone else's (or, for a user who does not see
    everyone, if there is none); 404 if there is none for HR."""
    employee = session.get(Employee, employee_id)
    if employee is None and sees_everyone(user):
        abort(404)
    # Someone who may not see everyone gets the same 403 for an id nobody has: it tells no one which ids exist.
    if employee is None or not may_see_employee(session, user, employee_id):
        abort(403, "You may see your own results and, as a manager, those of the people in the teams you lead; "
                   "this person is not one of them.")
    return employee
