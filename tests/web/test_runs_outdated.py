"""HR sees which runs their period's feedback has outgrown (late arrivals, decisions made after the run), on the
runs page and at home, and runs those periods again from there."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalRun
from core.db import transaction
from core.models import Employee, Feedback
from tests.fixtures.appraisal import BEFORE, WEEK, utc
from tests.fixtures.org import sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")


def _signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _late_item(worked_example, external_id: str = "late", who: str = "bob") -> None:
    with transaction() as session:
        session.add(Feedback(channel="test", kind="csat", external_id=external_id, value=1.0, scale_min=1.0,
                             scale_max=5.0, employee_id=worked_example.ids[who], occurred_at=utc(2026, 11, 5, 9)))


def _row(page: str, run_id: int) -> str:
    return re.search(rf'<tr id="run-{run_id}" role="row">(.*?)</tr>', page, re.DOTALL).group(1)


def test_a_run_whose_period_had_late_feedback_is_marked_and_run_again_from_the_list(app, worked_example):
    run_id = worked_example.run()
    client = _signed_in(app, "hr@example.com")
    assert "data-outdated" not in client.get("/runs").get_data(as_text=True)

    _late_item(worked_example)
    row = _row(client.get("/runs").get_data(as_text=True), run_id)
    assert "out of date: 1 item arrived since" in row
    form = re.search(r'<form method="post" action="/runs">(.*?)</form>', row, re.DOTALL).group(1)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    assert (fields["kind"], fields["first"], fields["last"], fields["next"]) == (
        "week", "2026-11-02", "2026-11-08", "/runs")
    assert "Run week 2026-11-02 again" in form

    answer = client.post("/runs", data=fields)
    assert answer.status_code == 303 and answer.location.endswith("/runs")
    with transaction() as session:
        again = session.scalars(select(AppraisalRun).where(AppraisalRun.id > run_id)).one()
        assert again.status == "completed"
    page = client.get("/runs").get_data(as_text=True)
    assert "data-outdated" not in page  # the new run counts the item; the old one is superseded, not listed as such
    assert f"superseded by run {again.id}" in _row(page, run_id)


def test_home_lists_recent_periods_to_run_again_for_hr_only(app, worked_example, monkeypatch):
    run_id = worked_example.run()
    monkeypatch.setattr("web.pages.home.utcnow", lambda: WEEK.end + timedelta(days=3))
    hr = _signed_in(app, "hr@example.com")
    assert "runs.outdated" not in hr.get("/").get_data(as_text=True)

    _late_item(worked_example)
    home = hr.get("/").get_data(as_text=True)
    assert re.search(rf'data-waiting="runs.outdated">.*?<a href="/runs#run-{run_id}">Week 2026-11-02 to '
                     r'2026-11-08</a> \(1 item arrived since\)', home, re.DOTALL)
    # A manager reads the runs HR makes; running periods again is not theirs to do.
    assert "runs.outdated" not in _signed_in(app, "mia@example.com").get("/").get_data(as_text=True)

    later = worked_example.run(period=BEFORE)  # a run made since pushes it to the runs list's next page
    monkeypatch.setattr("web.pages.runs.PAGE_SIZE", 1)
    link = re.search(rf'<a href="([^"]*)#run-{run_id}">', hr.get("/").get_data(as_text=True)).group(1)
    assert link == "/runs?page=2"
    listed = hr.get(link).get_data(as_text=True)
    assert f'id="run-{run_id}"' in listed and f'id="run-{later}"' not in listed

    monkeypatch.setattr("web.pages.home.utcnow", lambda: WEEK.end + timedelta(days=120))
    assert "runs.outdated" not in hr.get("/").get_data(as_text=True)  # older than a quarter: the runs page says


def test_reports_of_an_out_of_date_run_say_so_for_the_people_they_show(app, worked_example):
    run_id = worked_example.run()
    manager, hr = _signed_in(app, "mia@example.com"), _signed_in(app, "hr@example.com")
    _late_item(worked_example, "about-dan", who="dan")  # Billing: not one of Mia's people
    assert "data-outdated" not in manager.get("/report/team").get_data(as_text=True)
    overview = hr.get(f"/org?run={run_id}").get_data(as_text=True)
    assert re.search(r"changed after the run,\s+1 item arrived since", overview) and f"/runs#run-{run_id}" in overview

    _late_item(worked_example, "about-bob")
    report = manager.get("/report/team").get_data(as_text=True)
    assert re.search(r"data-outdated>Feedback about these people\s+changed after this run: 1 item arrived since \(late",
                     report)
    assert "which HR does" in report and "/runs#run" not in report  # a manager does not run periods
    everyone = hr.get("/report/team").get_data(as_text=True)
    assert re.search(r"the organisation\s+changed after this run: 2 items arrived since", everyone)


def test_an_employee_is_told_when_a_decision_on_their_feedback_came_after_their_report(app, worked_example):
    worked_example.run()
    bob = _signed_in(app, "bob@example.com")
    _late_item(worked_example, "about-dan", who="dan")  # a colleague's: not Bob's business
    assert "data-outdated" not in bob.get("/report").get_data(as_text=True)

    with transaction() as session:  # HR excludes one of Bob's answers after the run, as deciding a flag does
        item = session.scalars(select(Feedback).where(Feedback.employee_id == worked_example.ids["bob"],
                                                      Feedback.occurred_at >= WEEK.start)).first()
        item.status = "excluded"
    report = bob.get("/report").get_data(as_text=True)
    assert re.search(r"data-outdated>Your feedback changed after this report was\s+made: 1 item changed since "
                     r"\(a late answer", report)
    assert "/runs#run" not in report  # running it again is HR's
    row = re.search(rf'<tr id="item-{item.id}".*?</tr>', report, re.DOTALL).group(0)
    assert "no longer counts" in row and "Raise dispute" not in row  # nothing left to dispute


def test_approvals_on_an_out_of_date_run_are_warned_before_they_are_given(app, worked_example):
    worked_example.run()  # proposes bonuses, which the example's guideline has approved by a person
    hr, manager = _signed_in(app, "hr@example.com"), _signed_in(app, "mia@example.com")
    assert "data-outdated" not in hr.get("/review/recommendations").get_data(as_text=True)

    _late_item(worked_example, "about-dan", who="dan")  # Billing: HR is told, Mia is not
    assert "data-outdated" in hr.get("/review/recommendations").get_data(as_text=True)
    assert "data-outdated" not in manager.get("/review/recommendations").get_data(as_text=True)
    _late_item(worked_example)
    page = hr.get("/review/recommendations").get_data(as_text=True)
    assert re.search(r"data-outdated>Out of date: feedback of this period changed after the run,\s+2 items arrived "
                     r"since", page) and "run it again" in page
    page = manager.get("/review/recommendations").get_data(as_text=True)
    assert "data-outdated>Out of date" in page and "run it again" not in page


def test_a_team_report_counts_the_people_it_shows_as_the_run_made_them(app, worked_example):
    """Bob was in Support when the run was made, and the report shows him there: a late item of his is Mia's to
    know of, wherever he works now."""
    worked_example.run()
    with transaction() as session:
        bob = session.get(Employee, worked_example.ids["bob"])
        bob.team_id = session.get(Employee, worked_example.ids["dan"]).team_id  # moved to Billing after the run
    _late_item(worked_example)
    report = _signed_in(app, "mia@example.com").get("/report/team").get_data(as_text=True)
    assert "Bob" in report and "data-outdated>Feedback about these people" in report


def test_a_period_already_being_run_again_offers_no_second_button(app, worked_example):
    run_id = worked_example.run()
    _late_item(worked_example)
    with transaction() as session:  # a run requested meanwhile, still waiting for a worker
        earlier = session.get(AppraisalRun, run_id)
        session.add(AppraisalRun(period_kind="week", period_start=earlier.period_start, status="queued",
                                 period_end=earlier.period_end, guideline_id=earlier.guideline_id))
        session.flush()
        queued = session.scalar(select(AppraisalRun.id).where(AppraisalRun.status == "queued"))
    row = _row(_signed_in(app, "hr@example.com").get("/runs").get_data(as_text=True), run_id)
    assert "out of date" in row and f"being run again: run {queued}" in row and "<form" not in row
