"""Sending a shopper: HR or a manager assigns a visit to an employee, or to a location, with a visit window.

HR assigns anywhere; a manager only to the people in the teams they lead (a location may be served by anyone,
so assigning one is HR's). A shopper sees only the assignments made to them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from appraisal.targets import managed_team_ids
from core.models import Employee, User, managed_teams, record_audit

from .models import Assignment, ReportTemplate
from .template import visit_types_of

SCENARIO_LIMIT = 5000
LOCATION_LIMIT = 200
REF_LIMIT = 100


class AssignmentError(ValueError):
    """An assignment's fields are missing or wrong: ``problems`` names each (``field``, ``message``: the first)."""

    def __init__(self, field: str, message: str, problems: dict[str, str] | None = None):
        self.problems = problems or {field: message}
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.problems.items()))
        self.field = field
        self.message = message


def create_assignment(session: Session, actor, *, template_id: int, shopper_id: int,
                      employee_id: int | None = None, location: str | None = None, scenario: str,
                      due_at: datetime, visit_from: datetime, visit_until: datetime,
                      external_ref: str | None = None, visit_type: str | None = None) -> Assignment:
    """Assign a shopper a visit to an employee or a location, and audit it.

    ``visit_type`` is one of the template's visit types (:func:`.template.visit_types_of`): its report is
    asked, and scored on, only the questions of that type and those naming none. None asks every question.

    :raises PermissionError: unless ``actor`` is HR, or a manager assigning someone in their teams.
    :raises AssignmentError: naming every wrong field.
    """
    if not actor.has_role("hr", "manager"):
        raise PermissionError("only HR or a manager assigns mystery shoppers")
    # Every field at fault at once, as the form and the API show them: they were told one per round.
    problems: dict[str, str] = {}
    template = session.get(ReportTemplate, template_id)
    visit_type = (visit_type or "").strip() or None
    if template is None:
        problems["template_id"] = f"no report template {template_id}"
    elif visit_type is not None:
        known = visit_types_of(template.document)
        if visit_type not in known:
            problems["visit_type"] = (f"choose one of the template's visit types: {', '.join(known)}" if known
                                      else "this template's questions name no visit types: leave it empty")
    shopper = session.get(User, shopper_id)
    if shopper is None or not shopper.active or not shopper.has_role("shopper"):
        problems["shopper_id"] = f"no active shopper account {shopper_id}"
    location = (location or "").strip() or None
    if employee_id is None and location is None:
        problems["employee_id"] = "name the employee to visit, or a location"
    elif employee_id is not None and location is not None:  # the report would not know whom it is about
        problems["location"] = "name the employee to visit or a location, not both"
    elif location is not None and len(location) > LOCATION_LIMIT:
        problems["location"] = f"keep it under {LOCATION_LIMIT} characters"
    if employee_id is not None and "location" not in problems:
        employee = session.get(Employee, employee_id)
        if employee is None or not employee.active:
            problems["employee_id"] = f"no active employee {employee_id}"
        elif not may_assign_to(session, actor, employee):
            raise PermissionError("you may assign shoppers only to people in the teams you lead")
    elif location is not None and "location" not in problems and not actor.has_role("hr"):
        raise PermissionError("only HR assigns a shopper to a location: anyone there may serve them")
    scenario = (scenario or "").strip()
    if not scenario:
        problems["scenario"] = "describe what the shopper should do and ask"
    elif len(scenario) > SCENARIO_LIMIT:
        problems["scenario"] = f"keep it under {SCENARIO_LIMIT:,} characters"
    if not visit_from < visit_until:
        problems["visit_until"] = "the visit window must end after it starts"
    elif due_at < visit_until:
        problems["due_at"] = "the report cannot be due before the visit window ends"
    external_ref = (external_ref or "").strip() or None
    if external_ref is not None and len(external_ref) > REF_LIMIT:
        problems["external_ref"] = f"keep it under {REF_LIMIT} characters"
    if problems:
        field, message = next(iter(problems.items()))
        raise AssignmentError(field, message, problems)
    assignment = Assignment(template_id=template_id, shopper_id=shopper_id, employee_id=employee_id,
                            location=location, visit_type=visit_type, scenario=scenario, due_at=due_at,
                            visit_from=visit_from, visit_until=visit_until, external_ref=external_ref,
                            created_by=actor.id)
    session.add(assignment)
    session.flush()
    record_audit(session, "mystery_assignment.created", assignment, actor=actor, after={
        "template_id": template_id, "shopper_id": shopper_id, "employee_id": employee_id, "location": location,
        "visit_type": visit_type, "due_at": due_at.isoformat(), "visit_from": visit_from.isoformat(),
        "visit_until": visit_until.isoformat(), "external_ref": external_ref})
    return assignment


def may_assign_to(session: Session, actor, employee: Employee) -> bool:
    """HR may send a shopper to anyone; a manager to the people in their teams, never to themselves."""
    if employee.id == actor.employee_id:
        return False
    if actor.has_role("hr"):
        return True
    return (actor.has_role("manager") and actor.employee_id is not None
            and employee.team_id in managed_team_ids(session, actor.employee_id))


def assignments_for(session: Session, user) -> Select:
    """A SELECT of the assignments ``user`` may see: a shopper their own, HR all, a manager their teams'.

    A manager also sees the ones they made. Others see none. Narrow or order it further as needed.
    """
    clauses = []
    if user.has_role("hr"):
        return select(Assignment)
    if user.has_role("shopper"):
        clauses.append(Assignment.shopper_id == user.id)
    if user.has_role("manager") and user.employee_id is not None:
        in_teams = select(Employee.id).where(Employee.team_id.in_(managed_teams(user.employee_id)))
        clauses.append(Assignment.employee_id.in_(in_teams) & (Assignment.employee_id != user.employee_id))
        clauses.append(Assignment.created_by == user.id)
    return select(Assignment).where(or_(*clauses) if clauses else false())
