"""Who a run appraises: the people who worked in its period, by the days they joined and left.

A leaver was dropped from every run once deactivated, so a quarter appraised in January lost the people who
left in December; a new hire ranked in the weeks before they joined, on what waited for them.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalResult, AppraisalRun
from appraisal.periods import month_of, week_of
from appraisal.report import employee_report
from core.db import transaction
from core.models import AuditEntry, Employee, Feedback
from core.plugins import get_plugins
from tests.fixtures.appraisal import BEFORE
from tests.fixtures.org import sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")


def _appraised(run_id: int) -> dict[int, AppraisalResult]:
    with transaction() as session:
        return {r.employee_id: r for r in session.scalars(select(AppraisalResult).where(AppraisalResult.run_id == run_id))}


def _report(run_id: int, employee_id: int) -> dict:
    with transaction() as session:
        return employee_report(session, session.get(AppraisalRun, run_id), employee_id, get_plugins().scoring_rules)


def test_a_leaver_is_appraised_for_the_periods_they_worked_in_and_not_after(app, worked_example):
    ids = worked_example.ids
    cli = app.test_cli_runner()
    left = cli.invoke(args=["org", "deactivate", "bob@example.com", "--left-on", "2026-11-04"])
    assert left.exit_code == 0, left.output
    assert "who left on 2026-11-04: runs of periods after that day leave them out" in left.output
    week, month = worked_example.run(), worked_example.run(period=month_of(date(2026, 11, 1)))
    assert ids["bob"] in _appraised(week) and ids["bob"] in _appraised(month)
    assert _appraised(week)[ids["bob"]].rank is not None  # his six answers stand among his peers'
    assert _report(week, ids["bob"])["employee"]["part_worked"] == (
        "left on 2026-11-04 and worked 3 of the period's 7 days, against peers who may have worked all of it")
    assert _report(month, ids["bob"])["employee"]["part_worked"].startswith(
        "left on 2026-11-04 and worked 4 of the period's 30 days")
    assert _report(week, ids["ann"])["employee"]["part_worked"] is None
    after = worked_example.run(period=week_of(date(2026, 11, 9)))
    assert ids["bob"] not in _appraised(after) and ids["ann"] in _appraised(after)
    # audited with the day; correcting it is one more deactivation, of the same inactive person
    again = cli.invoke(args=["org", "deactivate", "bob@example.com", "--left-on", "2026-11-02"])
    assert again.exit_code == 0 and "who left on 2026-11-02" in again.output
    with transaction() as session:
        assert [entry.after for entry in session.scalars(select(AuditEntry).where(
            AuditEntry.action == "employee.deactivated").order_by(AuditEntry.id))] == [
            {"active": False, "left_on": "2026-11-04"}, {"active": False, "left_on": "2026-11-02"}]
        # someone deactivated before the days were kept has none: left out of every run, as then
        session.get(Employee, ids["cat"]).active = False
    assert ids["cat"] not in _appraised(worked_example.run())


def test_a_new_hire_is_appraised_from_the_week_they_joined(app, worked_example, tmp_path):
    ids = worked_example.ids
    people = tmp_path / "people.csv"
    people.write_text("name,email,team,started_on\nAnn,ann@example.com,Support,2026-11-05\n")
    imported = app.test_cli_runner().invoke(args=["org", "import", str(people)])
    assert imported.exit_code == 0, imported.output
    assert "ann@example.com: started_on none -> 2026-11-05" in imported.output
    earlier, week = worked_example.run(period=BEFORE), worked_example.run()
    assert ids["ann"] not in _appraised(earlier) and ids["bob"] in _appraised(earlier)
    assert ids["ann"] in _appraised(week)
    # her own report says so, in her words
    client = app.test_client()
    assert sign_in(client, "ann@example.com").status_code == 302
    page = client.get(f"/report?run={week}").get_data(as_text=True)
    assert ("Note: you joined on 2026-11-05 and worked 4 of the period&#39;s 7 days, against peers who may have worked all "
            "of it.") in page


def test_wrong_days_are_refused_naming_the_field_and_nothing_changes(app, worked_example, tmp_path):
    cli = app.test_cli_runner()
    people = tmp_path / "people.csv"
    people.write_text("name,email,team,started_on\nAnn,ann@example.com,Support,2026-11-05\n"
                      "Bob,bob@example.com,Support,5 Nov\n")
    refused = cli.invoke(args=["org", "import", str(people)])
    assert refused.exit_code == 1 and "line 3: started_on: give a day as YYYY-MM-DD" in refused.stderr
    people.write_text("name,email,team,started_on\nAnn,ann@example.com,Support,2026-11-05\n")
    assert cli.invoke(args=["org", "import", str(people)]).exit_code == 0
    before = cli.invoke(args=["org", "deactivate", "ann@example.com", "--left-on", "2026-11-04"])
    assert before.exit_code == 2 and "Invalid value for --left-on: 2026-11-04 is before they joined (2026-11-05)" \
        in before.output
    assert cli.invoke(args=["org", "deactivate", "ann@example.com", "--left-on", "4 Nov"]).exit_code == 2
    with transaction() as session:
        ann = session.get(Employee, worked_example.ids["ann"])
        assert ann.active and ann.left_on is None
    # named again in the organisation's file, a leaver is back, and the day they left no longer holds
    assert cli.invoke(args=["org", "deactivate", "ann@example.com", "--left-on", "2026-11-20"]).exit_code == 0
    assert "1 of them had been deactivated" in cli.invoke(args=["org", "import", str(people)]).output
    with transaction() as session:
        ann = session.get(Employee, worked_example.ids["ann"])
        assert ann.active and ann.left_on is None and ann.started_on == date(2026, 11, 5)


def test_the_team_dashboard_lists_whom_the_run_counted_in_the_team(app, worked_example):
    """It listed the team's active members of today: a leaver of the period, and someone moved out since, were
    missing from the table, though the team's means counted them."""
    ids = worked_example.ids
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com", "--left-on",
                                              "2026-11-04"]).exit_code == 0
    run = worked_example.run()
    with transaction() as session:
        session.get(Employee, ids["ann"]).team_id = session.get(Employee, ids["dan"]).team_id  # to Billing
    client = app.test_client()
    assert sign_in(client, "mia@example.com").status_code == 302
    page = client.get("/team?kind=week").get_data(as_text=True)
    assert "Bob</a> <span class=\"muted\" data-left>left 2026-11-04</span>" in page
    # each name opens that person's report of the run shown (a month's dashboard linked to their latest week);
    # Ann, in Billing now, is listed without a link: her report is no longer Mia's to open (the link was a 403)
    assert f"/report/{ids['cat']}?run={run}" in page
    assert f"/report/{ids['ann']}" not in page and '<th scope="row" role="rowheader">Ann' in page
    assert client.get(f"/report/{ids['ann']}?run={run}").status_code == 403


def test_a_new_hire_is_credited_only_what_waited_for_them_since_they_joined(app, worked_example):
    """A desk phone handed on named the one before them: the answers from before they joined keep waiting."""
    from core.ingestion import ingest
    from core.people_import import import_people
    from tests.fixtures.payloads import survey

    with transaction() as session:
        report = ingest(session, "post_ticket_survey", [
            survey("before", agent=("phone", "214"), answered_at="2026-11-04T23:30:00+00:00"),
            survey("after", agent=("phone", "214"), answered_at="2026-11-05T09:00:00+00:00")])
        assert [stored.employee_id for stored in report.created] == [None, None]
    with transaction() as session:
        imported = import_people(session, [
            "name,email,team,identities,started_on", "Eve,eve@example.com,Support,phone:214,2026-11-05"])
        assert imported.credited == 1
    with transaction() as session:
        eve = session.scalar(select(Employee.id).where(Employee.email == "eve@example.com"))
        credited = dict(session.execute(select(Feedback.external_id, Feedback.employee_id).where(
            Feedback.external_id.in_(["before", "after"]))).all())
        assert credited == {"before": None, "after": eve}


def test_a_preview_of_a_period_someone_no_longer_counts_in_reads_them_as_such(app, worked_example):
    """With someone the draft no longer appraises (a left day given since) and someone unranked (Cat, too few),
    the preview's sort compared None with a number: a 500 for HR at every quarter's end."""
    from appraisal.guidelines import current_guideline
    from appraisal.preview import preview_guideline

    ids = worked_example.ids
    worked_example.run()
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com", "--left-on",
                                              "2026-10-30"]).exit_code == 0
    with transaction() as session:
        preview = preview_guideline(session, current_guideline(session).document, get_plugins())
    rows = {row.employee_id: row for row in preview.rows}
    assert rows[ids["bob"]].after is None and rows[ids["bob"]].changes == [
        "no longer appraised for this period (left, or given the days they worked, since)"]
    assert rows[ids["cat"]].after.rank is None
    assert [row.name for row in preview.rows] == ["Ann", "Dan", "Bob", "Cat", "Mia Manager"]  # ranked, then by name


def test_someone_who_has_left_is_ranked_but_offered_nothing(app, worked_example):
    """Appraised for the week they worked, a leaver was proposed coaching, and a bonus ahead of those still
    employed, out of the same budget."""
    from appraisal.models import Recommendation

    ids = worked_example.ids
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com", "--left-on",
                                              "2026-11-04"]).exit_code == 0
    run = worked_example.run(period=BEFORE)  # Bob's week of ones: the coaching tier's, below 60
    bob = _appraised(run)[ids["bob"]]
    assert bob.rank is not None and bob.composite <= 60
    with transaction() as session:
        offered = session.execute(select(Recommendation.employee_id, Recommendation.kind).where(
            Recommendation.run_id == run)).all()
    assert offered and ids["bob"] not in {employee for employee, _ in offered}
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    page = client.get(f"/report/{ids['bob']}?run={run}").get_data(as_text=True)
    assert "None: Bob left on 2026-11-04, and nothing is recommended for\n      someone who has left." in page


def test_deactivating_corrects_a_day_keeps_a_kept_account_and_knows_a_hire_who_never_came(
        app, worked_example, tmp_path):
    cli = app.test_cli_runner()
    future = cli.invoke(args=["org", "deactivate", "bob@example.com", "--left-on", "2999-01-01"])
    assert future.exit_code == 2 and "2999-01-01 is still to come: the day they left must have passed" in future.output
    kept = cli.invoke(args=["org", "deactivate", "bob@example.com", "--left-on", "2026-11-04", "--keep-account"])
    assert kept.exit_code == 0 and "stays active" in kept.output
    # correcting the day leaves the account kept active the first time as it is (it closed it)
    corrected = cli.invoke(args=["org", "deactivate", "bob@example.com", "--left-on", "2026-11-05"])
    assert corrected.exit_code == 0 and "who left on 2026-11-05" in corrected.output
    assert "deactivated their account" not in corrected.output
    with transaction() as session:
        from core.models import User

        assert session.scalar(select(User.active).where(User.email == "bob@example.com"))
        assert session.get(Employee, worked_example.ids["bob"]).left_on == date(2026, 11, 5)
    # a hire who never came: "today is before they joined" named an option nobody gave
    people = tmp_path / "people.csv"
    people.write_text("name,email,team,started_on\nNew,new@example.com,Support,2999-01-01\n")
    assert cli.invoke(args=["org", "import", str(people)]).exit_code == 0
    never = cli.invoke(args=["org", "deactivate", "new@example.com"])
    assert never.exit_code == 0 and "who was to join on 2999-01-01: no run appraises them" in never.output
    with transaction() as session:
        new = session.scalar(select(Employee).where(Employee.email == "new@example.com"))
        assert not new.active and new.left_on is None


def test_an_item_from_before_someone_joined_is_not_theirs_when_it_arrives_either(app, worked_example):
    """The queue kept such an item waiting; one arriving after the identity was mapped went to the new hire."""
    from core.ingestion import ingest
    from core.people_import import import_people
    from tests.fixtures.payloads import survey

    with transaction() as session:
        import_people(session, ["name,email,team,identities,started_on",
                                "Eve,eve@example.com,Support,phone:214,2026-11-05"])
    with transaction() as session:
        report = ingest(session, "post_ticket_survey", [
            survey("before", agent=("phone", "214"), answered_at="2026-11-04T23:30:00+00:00"),
            survey("after", agent=("phone", "214"), answered_at="2026-11-05T09:00:00+00:00")])
        eve = session.scalar(select(Employee.id).where(Employee.email == "eve@example.com"))
        assert [(s.external_id, s.employee_id) for s in report.created] == [("before", None), ("after", eve)]
        waiting = session.scalar(select(Feedback).where(Feedback.external_id == "before"))
        assert waiting.attributed_identity == "phone:214"  # in the queue, naming whom the channel named


def test_exports_of_a_run_say_how_much_of_the_period_each_person_worked(app, worked_example):
    """Payroll reads the CSV and the JSON: a leaver's row looked like everyone else's."""
    import csv
    import io
    import json

    cli = app.test_cli_runner()
    assert cli.invoke(args=["org", "deactivate", "bob@example.com", "--left-on", "2026-11-04"]).exit_code == 0
    week = ["appraise", "--from", "2026-11-02", "--to", "2026-11-08", "--by", "hr@example.com"]
    rows = {row["employee"]: row for row in csv.DictReader(io.StringIO(
        cli.invoke(args=[*week, "--format", "csv"]).output))}
    assert (rows["Bob"]["days_worked"], rows["Bob"]["left_on"], rows["Ann"]["days_worked"]) == ("3", "2026-11-04", "7")
    results = {row["employee"]: row for row in json.loads(cli.invoke(args=[*week, "--format", "json"]).output)[
        "results"]}
    assert (results["Bob"]["days_worked"], results["Bob"]["left_on"]) == (3, "2026-11-04")
    table = cli.invoke(args=week).output
    assert "worked 3 of 7 days" in next(line for line in table.splitlines() if " Bob " in line)


def test_the_team_report_says_who_worked_part_of_the_period(app, worked_example):
    """The report managers rank from read a leaver of the period like anyone else."""
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com", "--left-on",
                                              "2026-11-04"]).exit_code == 0
    run = worked_example.run()
    client = app.test_client()
    assert sign_in(client, "mia@example.com").status_code == 302
    page = client.get(f"/report/team?run={run}").get_data(as_text=True)
    assert ('<span class="muted" data-part-worked>left on 2026-11-04 and worked 3 of the period&#39;s 7 days, '
            'against peers who may have worked all of it</span>') in page
    assert page.count("data-part-worked") == 1


def test_a_leaver_is_credited_by_hand_what_came_from_the_days_they_worked(app, worked_example):
    """Appraised for the periods they worked, a leaver could not be given a waiting item from one of their days:
    the queue and dispute decisions offered active employees only."""
    from core.attribution_queue import AttributionError, attribute_item
    from core.ingestion import ingest
    from core.models import User
    from tests.fixtures.payloads import survey

    ids = worked_example.ids
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com", "--left-on",
                                              "2026-11-04"]).exit_code == 0
    with transaction() as session:
        report = ingest(session, "post_ticket_survey", [
            survey("worked", agent=("phone", "999"), answered_at="2026-11-03T10:00:00+00:00"),
            survey("gone", agent=("phone", "999"), answered_at="2026-11-06T10:00:00+00:00")])
        worked, gone = (stored.feedback_id for stored in report.created)
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        assert attribute_item(session, worked, hr, ids["bob"]).employee_id == ids["bob"]
        with pytest.raises(AttributionError) as refused:
            attribute_item(session, gone, hr, ids["bob"])
        assert refused.value.message == ("Bob left on 2026-11-04, before the item (2026-11-06): choose someone who "
                                         "worked that day")
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    queue = client.get("/unattributed").get_data(as_text=True)
    assert f'<option value="{ids["bob"]}">Bob (left 2026-11-04)</option>' in queue


def test_what_was_credited_to_a_new_hire_from_before_they_joined_counts_for_nobody(app, worked_example):
    """Her joining day set after her answers were credited, Ann was scored on every one of them, and her change
    measured against a week before she joined, beside a note that she had worked 4 of the week's 7 days."""
    from appraisal.lineage import metric_lineage
    from appraisal.models import MetricResult

    ids = worked_example.ids
    before = worked_example.run()
    with transaction() as session:
        session.get(Employee, ids["ann"]).started_on = date(2026, 11, 5)
    run = worked_example.run()
    ann = _appraised(run)[ids["ann"]]
    with transaction() as session:
        metrics = {(m.run_id, m.metric): m for m in session.scalars(select(MetricResult).where(
            MetricResult.employee_id == ids["ann"], MetricResult.run_id.in_([before, run])))}
        lineage = metric_lineage(session, run, ids["ann"], "csat_percent")
    # her Thursday answers alone: too few for a composite, and nothing the week before to change from
    assert (metrics[run, "csat_percent"].n, metrics[run, "nps"].n) == (1, 1)
    assert (metrics[before, "csat_percent"].n, metrics[before, "nps"].n) == (4, 4)
    assert ann.composite is None and ann.previous_composite is None and ann.change is None
    assert lineage["items_now"] == 1 and [item["occurred_at"][:10] for item in lineage["items"]] == ["2026-11-05"]
    # the others still count for the organisation, as an unattributed answer does
    assert metrics[run, "csat_percent"].org_mean == metrics[before, "csat_percent"].org_mean
    # and her report lists what counted, not a colleague's customers' words from before she came
    with transaction() as session:
        report = employee_report(session, session.get(AppraisalRun, run), ids["ann"], get_plugins().scoring_rules,
                                 audience="manager", with_items=True)
    assert report["feedback_total"] == 2
    assert {item["occurred_at"].date() for item in report["feedback_items"]} == {date(2026, 11, 5)}
