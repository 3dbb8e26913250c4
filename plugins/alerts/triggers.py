"""Which feedback raises an alert, and who receives it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.models import Employee, Feedback, Team


@dataclass(frozen=True)
class Thresholds:
    #: An NPS answer below this is a detractor worth an alert (7: 0 to 6); 0 sends none.
    nps_below: int
    #: A CSAT answer on the lowest this many points of its scale (1: a 1 of 5); 0 sends none.
    csat_lowest: int


@dataclass(frozen=True)
class Trigger:
    reason: str  # detractor | very_low_csat
    label: str   # for a person: "a detractor score", "a very low CSAT"


def thresholds(config: Mapping[str, Any]) -> Thresholds:
    return Thresholds(nps_below=config["ALERT_NPS_BELOW"], csat_lowest=config["ALERT_CSAT_LOWEST"])


def trigger(item: Feedback, limits: Thresholds) -> Trigger | None:
    """Why ``item`` deserves an alert, or None.

    Only attributed items that count (accepted, not quarantined by an integrity check) alert: a manager
    can act on those. The top point of a scale never alerts, however many lowest points are configured,
    so a good/bad helpdesk rating alerts on "bad" only.
    """
    if item.employee_id is None or item.status != "accepted" or item.value is None:
        return None
    if item.kind == "nps" and item.value < limits.nps_below:
        return Trigger("detractor", "a detractor score")
    if item.kind != "csat" or not limits.csat_lowest or item.scale_min is None or item.scale_max is None:
        return None
    if item.value <= min(item.scale_min + limits.csat_lowest - 1, item.scale_max - 1):
        return Trigger("very_low_csat", "a very low CSAT")
    return None


def recipient(session: Session, item: Feedback) -> Employee | None:
    """The manager of the item's team who is to hear of it, or None when there is nobody to tell.

    That is the lead of the team the item was given in (the employee's team when the item names none).
    A team lead's own detractor goes to the lead of the team above instead: nobody alerts themselves. A
    team without a lead, or a lead without an e-mail address or no longer active, gets nothing.
    """
    employee = session.get(Employee, item.employee_id) if item.employee_id is not None else None
    if employee is None:
        return None
    team_id, seen = item.team_id or employee.team_id, set()
    while team_id is not None and team_id not in seen:
        seen.add(team_id)
        team = session.get(Team, team_id)
        if team is None or team.manager_id is None:
            return None
        if team.manager_id != employee.id:
            manager = team.manager
            return manager if manager.active and manager.email else None
        team_id = team.parent_id
    return None
