"""A small organisation whose appraisal is worked out by hand in test_by_hand.py."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from appraisal.guidelines import publish_guideline
from appraisal.periods import month_of, week_of
from appraisal.runs import request_run
from appraisal.targets import set_target
from core.db import transaction
from core.models import Employee, Feedback, Team, Ticket, User

WEEK = week_of(datetime(2026, 11, 2).date())  # Monday 2 to Sunday 8 November 2026
BEFORE = WEEK.previous()

#: The guideline of the worked example: CSAT% 60, NPS 40, at least 4 items, k = 2.
GUIDELINE = {
    "metrics": [{"rule": "csat_percent", "weight": 60}, {"rule": "nps", "weight": 40}],
    "min_sample": 4,
    "shrinkage_strength": 2,
    "composite_min_weight": 50,
    "attainment": {"far_below": 10, "exceeded": 5},
    "training": {"min_n": 2, "gap": 10, "max_needs": 3, "recommend": True},
    "incentives": {
        "tiers": [
            {"name": "Gold", "conditions": {"min_percentile": 90, "min_composite": 70},
             "gives": [{"kind": "bonus", "amount": 100}, {"kind": "recognition"}]},
            {"name": "Silver", "conditions": {"min_composite": 55, "min_streak": 1},
             "gives": [{"kind": "bonus", "amount": 60}]},
            {"name": "Coaching", "group": "development", "conditions": {"max_composite": 60},
             "gives": [{"kind": "coaching"}]},
        ],
        "budget": {"cap": 130, "allocation": "rank_order"},
    },
    "approval_required": ["bonus"],
    "integrity": {},
}

#: (employee, kind, values as (value, ticket category or None)) in the appraised week.
THIS_WEEK = {
    "ann": {"csat": [(5, "Billing"), (5, "Billing"), (4, "Refunds"), (3, "Refunds")],
            "nps": [10, 9, 7, 3]},
    "bob": {"csat": [(5, "Billing"), (4, "Billing"), (4, "Refunds"), (4, "Refunds"), (2, "Refunds"),
                     (1, "Billing")],
            "nps": [10, 10, 10, 6]},
    "cat": {"csat": [(5, None), (5, None)], "nps": []},
    "dan": {"csat": [(4, "Billing"), (4, "Billing"), (4, "Billing"), (1, "Refunds"), (1, "Refunds")],
            "nps": [9, 8, 8, 0]},
    None: {"csat": [(1, None)], "nps": []},  # nobody's: counts for the org only
}
LAST_WEEK = {
    "ann": {"csat": [(5, None)] * 4, "nps": [10] * 4},
    "bob": {"csat": [(1, None)] * 4, "nps": [0] * 4},
}


@dataclass
class WorkedExample:
    ids: dict[str, int]
    hr: int
    manager: int

    def run(self, version: int | None = None, period=WEEK) -> int:
        """Request a run and let it compute (inline: the tests have no Redis); return its id."""
        with transaction() as session:
            run = request_run(session, period, guideline_version_number=version)
            run_id = run.id
        return run_id


def _add_items(session, ids, items, monday, counter):
    for who, kinds in items.items():
        for kind, values in kinds.items():
            for offset, entry in enumerate(values):
                value, category = entry if isinstance(entry, tuple) else (entry, None)
                ticket = None
                if category is not None:
                    ticket = Ticket(provider="test", external_id=f"t{next(counter)}", category=category)
                    session.add(ticket)
                    session.flush()
                scale = (1.0, 5.0) if kind == "csat" else (0.0, 10.0)
                employee = ids.get(who)
                session.add(Feedback(
                    channel="test", kind=kind, external_id=f"f{next(counter)}", value=float(value),
                    scale_min=scale[0], scale_max=scale[1], employee_id=employee,
                    team_id=None, ticket_id=ticket.id if ticket else None,
                    occurred_at=monday + timedelta(days=offset % 5, hours=10)))


@pytest.fixture
def worked_example(app_context) -> WorkedExample:
    counter = iter(range(1, 100_000))
    with transaction() as session:
        support, billing = Team(name="Support", slug="support"), Team(name="Billing", slug="billing")
        mia = Employee(name="Mia Manager", email="mia@example.com")
        people = {name: Employee(name=name.title(), email=f"{name}@example.com",
                                 team=support if name != "dan" else billing)
                  for name in ("ann", "bob", "cat", "dan")}
        session.add_all([support, billing, mia, *people.values()])
        session.flush()
        support.manager_id = mia.id
        hr = User(email="hr@example.com", name="HR", password_hash="x")
        hr.roles = ["hr"]
        manager = User(email="mia@example.com", name="Mia", password_hash="x", employee_id=mia.id)
        manager.roles = ["manager"]
        session.add_all([hr, manager])
        session.flush()
        ids = {name: person.id for name, person in people.items()}
        _add_items(session, ids, THIS_WEEK, WEEK.start, counter)
        _add_items(session, ids, LAST_WEEK, BEFORE.start, counter)
        publish_guideline(session, GUIDELINE, actor=hr, note="worked example")
        november = month_of(WEEK.start.date())
        set_target(session, manager, metric="csat_percent", period=november, value=65, team=support)
        set_target(session, hr, metric="csat_percent", period=november, value=80,
                   employee=session.get(Employee, ids["ann"]))
        set_target(session, hr, metric="csat_percent", period=november, value=50,
                   employee=session.get(Employee, ids["dan"]))
        hr_id, manager_id = hr.id, manager.id
    return WorkedExample(ids, hr_id, manager_id)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
