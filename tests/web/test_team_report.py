"""The team report managers read, and a period appraised again: what was approved on its earlier run stands."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalRun, Recommendation
from appraisal.report import team_report
from core.db import transaction
from core.models import (
    Employee,
    Team,
    User,
    managed_teams,
)
from core.plugins import get_plugins

APPROX = {"abs": 1e-6}

pytestmark = pytest.mark.usefixtures("session_per_request")


# --- the team report ----------------------------------------------------------------------------------------


def test_the_team_report_holds_the_teams_the_manager_leads(worked_example, as_user):
    run_id = worked_example.run()
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        report = team_report(session, run, managed_teams(session.get(User, worked_example.manager).employee_id),
                             get_plugins().scoring_rules)
    assert [(r["employee"], r["rank"]) for r in report["rows"]] == [("Ann", 1), ("Bob", 2), ("Cat", None)]
    assert report["rows"][1]["composite"] == pytest.approx(70 + 5 / 12, **APPROX)
    assert report["awaiting_decision"] == 2  # Ann's and Bob's bonuses
    with transaction() as session:
        # Read by Ann, were she a lead appraised in her own team: her bonus awaits someone else, not her.
        mine = team_report(session, session.get(AppraisalRun, run_id),
                           managed_teams(session.get(User, worked_example.manager).employee_id),
                           get_plugins().scoring_rules, reader=worked_example.ids["ann"])
    assert mine["awaiting_decision"] == 1
    html = as_user("mia@example.com").get("/report/team").get_data(as_text=True)
    assert all(name in html for name in ("Ann", "Bob", "Cat")) and "Dan" not in html
    assert '<a href="/review/recommendations">2 recommendations await a decision</a>' in html  # where to decide
    assert as_user("ann@example.com").get("/report/team").status_code == 403
    client = as_user("mia@example.com")
    with transaction() as session:
        billing = session.scalar(select(Team.id).where(Team.slug == "billing"))
    assert client.get(f"/report/team?team={billing}").status_code == 403
    assert "Dan" in as_user("hr@example.com").get(f"/report/team?team={billing}").get_data(as_text=True)
    # HR's report of every team takes in someone of no team, as the organisation overview does
    with transaction() as session:
        session.get(Employee, worked_example.ids["dan"]).team_id = None
    teamless = worked_example.run()
    everyone = as_user("hr@example.com").get(f"/report/team?run={teamless}").get_data(as_text=True)
    assert "Dan" in everyone and "No team: 2 appraised" in everyone  # Dan, and Mia, who leads Support
    assert "Dan" not in as_user("mia@example.com").get(f"/report/team?run={teamless}").get_data(as_text=True)
    with transaction() as session:
        session.get(Employee, worked_example.ids["dan"]).team_id = billing
    worked_example.run()
    # A department above both teams holds everyone below it (it said nobody was appraised in it)
    with transaction() as session:
        department = Team(name="Customer service", slug="customer_service")
        session.add(department)
        session.flush()
        for team in session.scalars(select(Team).where(Team.slug.in_(("support", "billing")))):
            team.parent_id = department.id
        department_id = department.id
    html = as_user("hr@example.com").get(f"/report/team?team={department_id}").get_data(as_text=True)
    assert all(name in html for name in ("Ann", "Bob", "Cat", "Dan")) and "Nobody in this team" not in html


def test_two_teams_of_one_name_keep_their_own_means_and_the_team_column(worked_example, as_user):
    with transaction() as session:  # Billing renamed as Support: two teams now share a name, not an id
        session.scalar(select(Team).where(Team.slug == "billing")).name = "Support"
    run_id = worked_example.run()
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        report = team_report(session, run, select(Team.id), get_plugins().scoring_rules)
    supports = [team for team in report["teams"] if team["name"] == "Support"]
    assert sorted(team["members"] for team in supports) == [1, 3]  # Dan alone; Ann, Bob and Cat
    html = as_user("hr@example.com").get("/report/team").get_data(as_text=True)
    assert '<th role="columnheader">Team</th>' in html  # both are "Support", yet the column tells who is where


# --- a period run again ---------------------------------------------------------------------------------------


def _approve(example, run_id, name):
    from appraisal.review import decide_recommendation

    with transaction() as session:
        bonus = session.scalar(select(Recommendation.id).where(
            Recommendation.run_id == run_id, Recommendation.employee_id == example.ids[name],
            Recommendation.kind == "bonus"))
        decide_recommendation(session, bonus, session.get(User, example.hr), approve=True)


def _recommendations_shown(html: str, employee_id: int | None = None) -> list[str]:
    """The recommendations listed (of one row of the team report), as text."""
    if employee_id is not None:
        html = re.search(rf'<tr data-employee="{employee_id}"[^>]*>(.*?)</tr>', html, re.DOTALL).group(1)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
            for text in re.findall(r'<(?:li|span) data-recommendation="\w+" data-run="\d+">(.*?)</(?:li|span)>\s*(?=,|<li|</ul|</td)',
                                   html, re.DOTALL)]


def test_a_rerun_keeps_showing_what_was_approved_on_the_period_s_earlier_run(worked_example, as_user):
    """Ann's bonus approved on the first run of the week is what she has for the week after a re-run too: her
    page and her manager's team report say so, with the run and version that approved it, and list her
    recognition once; the first run's team report says Bob's proposal there was superseded."""
    first = worked_example.run()
    _approve(worked_example, first, "ann")
    second = worked_example.run()
    ann, bob = worked_example.ids["ann"], worked_example.ids["bob"]
    decided = f"(decided on run {first}, guideline v1)"
    html = as_user("ann@example.com").get("/report").get_data(as_text=True)
    # the latest run of the week, the week offered once (so no picker)
    assert "an earlier run of this period" not in html and '<select id="run"' not in html
    mine = _recommendations_shown(html)
    assert [text.split(":")[0] for text in mine] == ["Bonus of 100.00 EUR", "Recognition"]
    assert all(text.endswith(decided) for text in mine)
    html = as_user("mia@example.com").get(f"/report/team?run={second}").get_data(as_text=True)
    assert _recommendations_shown(html, ann) == [f"bonus 100.00 EUR approved {decided}",
                                                 f"recognition approved {decided}"]
    assert _recommendations_shown(html, bob) == [f"training approved {decided}", "bonus 30.00 EUR proposed"]
    html = as_user("mia@example.com").get(f"/report/team?run={first}").get_data(as_text=True)
    assert _recommendations_shown(html, bob)[0] == f"bonus 30.00 EUR superseded by run {second}"
    assert ">rejected<" not in html  # only a person rejects; what a re-run replaced says so


def test_reports_of_a_run_made_before_its_period_ended_say_so(worked_example, as_user):
    """The approvals page and the API said a run was made before its period ended; the reports, which people
    read as final, did not."""
    from datetime import timedelta

    from appraisal.periods import period_between
    from appraisal.runs import request_run
    from tests.fixtures.appraisal import WEEK

    early_id = worked_example.run()  # the worked example's week, made in the tests long after it ended
    with transaction() as session:
        run = session.get(AppraisalRun, early_id)
        run.started_at = run.created_at = WEEK.start + timedelta(days=3)  # Thursday of that week
    ann = worked_example.ids["ann"]
    for who, page in (("mia", f"/report/team?run={early_id}"), ("mia", f"/report/{ann}?run={early_id}"),
                      ("mia", "/team"), ("hr", "/org")):  # the dashboards: the latest run
        html = as_user(f"{who}@example.com").get(page).get_data(as_text=True)
        assert "Note: this run was made on 2026-11-05, before the week 2026-11-02 to 2026-11-08 ended" in html, page
    with transaction() as session:
        later = request_run(session, period_between(WEEK.first, WEEK.last)).id
    assert "data-early" not in as_user("mia@example.com").get(f"/report/team?run={later}").get_data(as_text=True)
    assert "data-early" not in as_user("hr@example.com").get("/org").get_data(as_text=True)
