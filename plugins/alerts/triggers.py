"""Which feedback raises an alert, and who receives it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Employee, Feedback, Team, User, UserRole

#: The kind of a customer's public post (channels/social_monitoring); brand replies are another kind.
SOCIAL_MENTION = "social_mention"
#: A post stored longer than this after it was written does not alert: imports of old post archives
#: (thousands of negative tweets) must not flood anyone's inbox with news nobody can act on any more.
SOCIAL_FRESH_FOR = timedelta(days=2)


@dataclass(frozen=True)
class Thresholds:
    #: An NPS answer below this is a detractor worth an alert (7: 0 to 6); 0 sends none.
    nps_below: int
    #: A CSAT answer on the lowest this many points of its scale (1: a 1 of 5); 0 sends none.
    csat_lowest: int
    #: A social mention with a sentiment at or below this (-1..0) alerts; None sends none.
    social_below: float | None = None


@dataclass(frozen=True)
class Trigger:
    reason: str  # detractor | very_low_csat | negative_mention
    label: str   # for a person: "a detractor score", "a very low CSAT", "a negative social mention"


@dataclass(frozen=True)
class Recipients:
    """Who hears of an item: the employee's manager, or HR for a mention nobody is credited with yet."""

    people: tuple[Employee | User, ...]
    role: str  # manager | hr

    @property
    def addresses(self) -> str:
        return ", ".join(person.email for person in self.people)


NEGATIVE_MENTION = Trigger("negative_mention", "a negative social mention")


def thresholds(config: Mapping[str, Any]) -> Thresholds:
    return Thresholds(nps_below=config["ALERT_NPS_BELOW"], csat_lowest=config["ALERT_CSAT_LOWEST"],
                      social_below=config["ALERT_SOCIAL_BELOW"])


def trigger(item: Feedback, limits: Thresholds) -> Trigger | None:
    """Why ``item`` deserves an alert, or None.

    Only items that count (accepted, not quarantined by an integrity check) alert. Survey answers alert
    only when attributed: a manager can act on those. A negative social mention alerts even unattributed
    (see :func:`recipients`), if it arrived while still fresh. The top point of a scale never alerts,
    however many lowest points are configured, so a good/bad helpdesk rating alerts on "bad" only.
    """
    if item.status != "accepted" or item.value is None:
        return None
    if item.kind == SOCIAL_MENTION:
        fresh = item.received_at is None or item.received_at - item.occurred_at <= SOCIAL_FRESH_FOR
        negative = limits.social_below is not None and item.value <= limits.social_below
        return NEGATIVE_MENTION if negative and fresh else None
    if item.employee_id is None:
        return None
    if item.kind == "nps" and item.value < limits.nps_below:
        return Trigger("detractor", "a detractor score")
    if item.kind != "csat" or not limits.csat_lowest or item.scale_min is None or item.scale_max is None:
        return None
    if item.value <= min(item.scale_min + limits.csat_lowest - 1, item.scale_max - 1):
        return Trigger("very_low_csat", "a very low CSAT")
    return None


def recipients(session: Session, item: Feedback, why: Trigger) -> Recipients | None:
    """Who is to hear of ``item``, or None when there is nobody to tell.

    An attributed item goes to its employee's manager (:func:`recipient`). A negative mention credited to
    nobody goes to every active HR user with an address: it is public and wants an answer, nobody's manager
    is known, and HR decides anything in the attribution queue, where the mention waits.
    """
    if item.employee_id is not None:
        manager = recipient(session, item)
        return Recipients((manager,), "manager") if manager is not None else None
    if why.reason != NEGATIVE_MENTION.reason or item.attribution_policy is not None:  # decided: kept for the organisation
        return None
    hr = tuple(session.scalars(
        select(User).join(UserRole).where(UserRole.role == "hr", User.active.is_(True), User.email != "")
        .order_by(User.id)))
    return Recipients(hr, "hr") if hr else None


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
