"""A move to another team counts from the day it is made: a period appraised again afterwards counts the person
in the team they were in then, and a period that ends after the move counts them in the new one.

Before, runs read the team from the employee row as it is now, so a week appraised again after a move put the
person in their new team, and their old team's report and means for that week lost them.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalResult
from appraisal.periods import month_of
from core import local_time
from core.db import transaction
from core.models import Employee, FormerTeam, Team
from core.people_import import import_people

pytestmark = pytest.mark.usefixtures("session_per_request")


def _move(name: str, email: str, team: str) -> None:
    with transaction() as session:
        report = import_people(session, ["name,email,team", f"{name},{email},{team}"])
        assert not report.errors, report.errors


def _team_in(run_id: int, employee_id: int) -> str | None:
    with transaction() as session:
        return session.scalar(select(Team.name).join(AppraisalResult, AppraisalResult.team_id == Team.id).where(
            AppraisalResult.run_id == run_id, AppraisalResult.employee_id == employee_id))


def test_a_week_appraised_again_after_a_move_keeps_the_team_of_that_week(worked_example):
    ann = worked_example.ids["ann"]
    assert _team_in(worked_example.run(), ann) == "Support"
    _move("Ann", "ann@example.com", "Billing")
    assert _team_in(worked_example.run(), ann) == "Support"  # the week before the move: as it was
    today = local_time.today()
    assert _team_in(worked_example.run(period=month_of(today)), ann) == "Billing"  # a period ending after it
    with transaction() as session:
        [kept] = session.scalars(select(FormerTeam).where(FormerTeam.employee_id == ann)).all()
        assert (session.get(Team, kept.team_id).name, kept.until) == ("Support", today - timedelta(days=1))
        assert session.get(Employee, ann).team.name == "Billing"


def test_moved_twice_in_a_day_the_team_of_the_day_before_is_kept(worked_example):
    ann = worked_example.ids["ann"]
    _move("Ann", "ann@example.com", "Billing")
    _move("Ann", "ann@example.com", "Returns")
    assert _team_in(worked_example.run(), ann) == "Support"
    with transaction() as session:
        assert len(session.scalars(select(FormerTeam).where(FormerTeam.employee_id == ann)).all()) == 1


def test_an_import_that_moves_nobody_keeps_no_former_team(worked_example):
    _move("Ann", "ann@example.com", "Support")
    _move("Ann Smith", "ann@example.com", "Support")  # renamed, not moved
    with transaction() as session:
        assert session.scalars(select(FormerTeam)).all() == []
