"""Targets: managers set them for their people or teams, within the bounds HR's guideline allows."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from core.models import Employee, Team, User, managed_teams, record_audit
from core.plugins import get_plugins

from .engine import Person
from .guidelines import guideline_in_force
from .models import Target
from .period_zone import MisalignedPeriods, refuse_misaligned
from .periods import Period


class TargetError(ValueError):
    """A target cannot be set as asked: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def managed_team_ids(session: Session, employee_id: int) -> set[int]:
    """The teams an employee leads, with every team below them."""
    return set(session.scalars(managed_teams(employee_id)))


def may_set_target(session: Session, user, employee: Employee | None, team: Team | None) -> bool:
    """HR may set any target; a manager only for people and teams within the teams they lead."""
    if employee is not None and employee.id == user.employee_id:
        return False  # nobody sets their own targets
    if user.has_role("hr", "admin"):
        return True
    if not user.has_role("manager") or user.employee_id is None:
        return False
    teams = managed_team_ids(session, user.employee_id)
    subject_team = team.id if team is not None else employee.team_id
    return subject_team in teams and (employee is None or employee.id != user.employee_id)


def metric_range(spec: Mapping, rule) -> tuple[float, float] | None:
    """The values ``spec``'s metric can take: its rule's own scale (CSAT% 0 to 100, NPS -100 to 100, CES on its
    scale), or from its floor up (a duration: 0 minutes and more); None when nothing is known.

    Not the guideline's ``bounds``: those anchor the composite's 0 and 100, and a metric can lie beyond them.
    """
    if rule is None:
        return None
    scale = rule.value_bounds(spec.get("params", {}))
    if scale is None and rule.floor is not None:
        return rule.floor, math.inf
    return scale


def range_problem(value: float, scale: tuple[float, float], title: str) -> str | None:
    """What is wrong with a target of ``value`` on ``scale`` (see :func:`metric_range`); None when it fits."""
    if scale[0] <= value <= scale[1]:
        return None
    if scale[1] == math.inf:
        return f"{title} cannot be below {scale[0]:g}"
    return f"{title} runs from {scale[0]:g} to {scale[1]:g}"


def target_for(session: Session, metric: str, period: Period, *, employee=None, team=None) -> Target | None:
    """The target of ``employee`` (or ``team``) for ``metric`` over exactly ``period``, if one is set."""
    subject = Target.employee_id == employee.id if employee is not None else Target.team_id == team.id
    return session.scalar(select(Target).where(
        Target.metric == metric, Target.period_start == period.start, Target.period_end == period.end, subject))


def value_problems(session: Session, metric: str, value: float) -> dict[str, str]:
    """What is wrong with a target of ``value`` for ``metric`` under the guideline in force, by field ("metric" or
    "value"); empty when nothing is. For callers that name every field at fault at once."""
    guideline = guideline_in_force(session)
    specs = {m["rule"]: m for m in guideline.document["metrics"]}
    if metric not in specs:
        return {"metric": f"{metric!r} is not in guideline v{guideline.version}; choose from {', '.join(sorted(specs))}"}
    if not math.isfinite(value):
        return {"value": "give a finite number"}
    rule = get_plugins().scoring_rules.get(metric)
    scale = metric_range(specs[metric], rule)
    problem = range_problem(value, scale, getattr(rule, "title", metric)) if scale else None
    if problem:  # a target the metric can never take is a typo (-1 minutes, a CES of 99 on a 1-7 scale)
        return {"value": problem}
    bounds = specs[metric]["target_bounds"]
    if bounds and not bounds["min"] <= value <= bounds["max"]:
        return {"value": f"HR allows targets from {bounds['min']:g} to {bounds['max']:g} for "
                         f"{getattr(rule, 'title', metric)}"}
    return {}


def set_target(session: Session, user, *, metric: str, period: Period, value: float,
               employee: Employee | None = None, team: Team | None = None) -> Target:
    """Set (or change) the target of ``metric`` for ``period``, audited.

    :raises TargetError: naming the field: an unknown metric, a value outside HR's bounds, no right to set it.
    :raises PermissionError: when ``user`` may not set targets for this employee or team.
    """
    if (employee is None) == (team is None):
        raise TargetError("subject", "give either an employee or a team")
    for field, message in value_problems(session, metric, value).items():
        raise TargetError(field, message)
    if not may_set_target(session, user, employee, team):
        if employee is not None and employee.id == user.employee_id:  # HR too: a target of one's own is no target
            raise PermissionError("nobody sets their own targets: your manager or another HR person does")
        raise PermissionError("you may set targets only for the people and teams you manage")
    try:
        refuse_misaligned(session)  # the target would fit no run, and its earlier one would not be found to change
    except MisalignedPeriods as exc:
        raise TargetError("period", str(exc)) from None
    existing = target_for(session, metric, period, employee=employee, team=team)
    before = None
    if existing is None:
        existing = Target(metric=metric, period_start=period.start, period_end=period.end,
                          employee_id=employee.id if employee else None, team_id=team.id if team else None,
                          value=value, set_by=user.id)
        session.add(existing)
    else:
        before = {"value": existing.value, "set_by": existing.set_by}
        existing.value, existing.set_by = value, user.id
    session.flush()
    record_audit(session, "target.set", existing, actor=user, before=before,
                 after={"metric": metric, "value": value, "period": period.label,
                        "employee_id": existing.employee_id, "team_id": existing.team_id})
    return existing


def targets_in_force(session: Session, metrics: Sequence[str], period: Period, people: Sequence[Person]
                     ) -> dict[int, dict[str, tuple[int, float]]]:
    """Each person's target per metric for a run of ``period``: {employee_id: {metric: (target_id, value)}}.

    A target applies when its period covers the run's. A person's own target wins over their team's, a
    team's over a parent team's; among equals, the one changed last. A team's target does not apply to whoever
    set it last: nobody sets their own targets, and a manager (or an HR person) in the team they set it for
    would otherwise have (and lower) their own, which feeds the incentives' attainment streaks.
    """
    rows = session.execute(
        select(Target.id, Target.metric, Target.employee_id, Target.team_id, Target.value,
               User.employee_id.label("setter"))
        .outerjoin(User, User.id == Target.set_by)
        .where(Target.metric.in_(list(metrics)), Target.period_start <= period.start,
               Target.period_end >= period.end)
        .order_by(Target.updated_at, Target.id)).all()
    if not rows:
        return {}
    parents = dict(session.execute(select(Team.id, Team.parent_id)).all())
    own: dict[int, dict[str, tuple[int, float]]] = {}
    # Every team target in force, oldest change first: one a person set gives way to the next latest.
    by_team: dict[int, dict[str, list[tuple[int, float, int | None]]]] = {}
    for target_id, metric, employee_id, team_id, value, setter in rows:  # later rows overwrite earlier ones
        if employee_id is not None:
            own.setdefault(employee_id, {})[metric] = (target_id, value)
        else:
            by_team.setdefault(team_id, {}).setdefault(metric, []).append((target_id, value, setter))
    result = {}
    for person in people:
        chosen: dict[str, tuple[int, float]] = {}
        team_id, seen = person.team_id, set()
        lineage = []
        while team_id is not None and team_id not in seen:
            seen.add(team_id)
            lineage.append(team_id)
            team_id = parents.get(team_id)
        for ancestor in reversed(lineage):  # nearer teams overwrite farther ones
            for metric, targets in by_team.get(ancestor, {}).items():
                latest = next(((target_id, value) for target_id, value, setter in reversed(targets)
                               if setter != person.id), None)
                if latest is not None:
                    chosen[metric] = latest
        chosen.update(own.get(person.id, {}))
        if chosen:
            result[person.id] = chosen
    return result


def describe_targets(session: Session) -> list[Mapping]:
    """Every target with whom or which team it is for, newest period first (for listings)."""
    subject = union_all(
        select(Target.id.label("id"), Employee.name.label("subject"), literal("employee").label("kind"))
        .join(Employee, Employee.id == Target.employee_id),
        select(Target.id, Team.name, literal("team")).join(Team, Team.id == Target.team_id)).subquery()
    query = (select(Target, subject.c.subject, subject.c.kind).join(subject, subject.c.id == Target.id)
             .order_by(Target.period_start.desc(), Target.metric, subject.c.subject))
    return [{"target": target, "subject": name, "kind": kind} for target, name, kind in session.execute(query)]
