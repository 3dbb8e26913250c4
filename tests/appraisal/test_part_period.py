"""The guideline's ``part_period``: whether someone who worked part of a period ranks, and what their bonus pays.

Before it, a hire of the period's last days ranked among peers who had all of it, and took a whole bonus, with
no setting for HR to say otherwise.
"""
from __future__ import annotations

from datetime import date

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from appraisal.employment import worked_enough
from appraisal.engine import EmployeeOutcome
from appraisal.guideline_schema import validate_guideline
from appraisal.guidelines import current_guideline, publish_guideline
from appraisal.incentives import prorated, tier_proposals
from appraisal.models import AppraisalResult, AppraisalRun, Recommendation
from appraisal.preview import preview_guideline
from appraisal.report import employee_report
from core.db import transaction
from core.models import Employee
from core.plugins import get_plugins
from tests.fixtures.appraisal import GUIDELINE, ann_joins_on_thursday
from tests.fixtures.org import sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")

#: Every appraised employee gets a bonus of 100, with no cap: what each is offered shows the proration alone.
EVERYONE = {"tiers": [{"name": "Everyone", "conditions": {"no_open_flags": False},
                       "gives": [{"kind": "bonus", "amount": 100}]}], "budget": {"cap": None}}


def _publish(worked_example, **changes) -> int:
    with transaction() as session:
        return publish_guideline(session, {**GUIDELINE, **changes}, actor=worked_example.hr).version


def _results(run_id: int) -> dict[int, AppraisalResult]:
    with transaction() as session:
        return {r.employee_id: r for r in session.scalars(select(AppraisalResult).where(AppraisalResult.run_id == run_id))}


def _offered(run_id: int) -> dict[int, tuple[float, str]]:
    with transaction() as session:
        return {r.employee_id: (r.amount, r.reason) for r in session.scalars(
            select(Recommendation).where(Recommendation.run_id == run_id, Recommendation.kind == "bonus"))}


def test_worked_enough_is_counted_in_days():
    assert worked_enough(None, 100)  # all of the period
    assert worked_enough((4, 7), 50) and not worked_enough((3, 7), 50)  # 3.5 days asked
    assert worked_enough((46, 92), 50) and not worked_enough((45, 92), 50)
    assert worked_enough((1, 92), 0)


def test_the_settings_are_checked_naming_the_field(app_context):
    plugins = get_plugins()
    with pytest.raises(ValidationError) as refused:
        validate_guideline({**GUIDELINE, "part_period": {"min_share_worked": 120, "prorate": True}}, plugins)
    assert refused.value.messages == {"part_period": {
        "min_share_worked": ["give a share of the period's days, 0 to 100"], "prorate": ["Unknown field."]}}
    assert validate_guideline(GUIDELINE, plugins)["part_period"] == {"min_share_worked": 0.0, "prorate_bonus": False}


def test_below_the_share_asked_someone_keeps_their_composite_but_is_not_ranked(app, worked_example):
    ids = worked_example.ids
    ann_joins_on_thursday(worked_example)
    before = worked_example.run()
    ranked = _results(before)
    assert ranked[ids["ann"]].rank is not None  # the guideline of the worked example ranks everyone

    version = _publish(worked_example, part_period={"min_share_worked": 60})
    run = worked_example.run()
    results = _results(run)
    ann, bob, dan = results[ids["ann"]], results[ids["bob"]], results[ids["dan"]]
    assert ann.composite == ranked[ids["ann"]].composite and ann.state == "ok"
    assert ann.rank is None and ann.percentile is None
    assert (bob.rank, bob.peers, dan.peers, ann.peers) == (1, 2, 2, 2)  # ranked among Bob and Dan
    assert ann.org_mean == pytest.approx((bob.composite + dan.composite) / 2)  # the mean of the ranked
    assert bob.team_mean == bob.composite  # Support's ranked: Bob alone (Cat has too few)
    with transaction() as session:
        report = employee_report(session, session.get(AppraisalRun, run), ids["ann"], get_plugins().scoring_rules)
    assert report["employee"]["part_worked"] == (
        "joined on 2026-11-05 and worked 4 of the period's 7 days: too few to rank, as the guideline ranks those "
        "who worked at least 60% of a period")

    # 4 of 7 days is 57%: enough for a guideline that asks half
    _publish(worked_example, part_period={"min_share_worked": 50})
    assert _results(worked_example.run())[ids["ann"]].rank is not None
    # the version published before the setting ranks her still, on a re-run as on the first
    again = _results(worked_example.run(version=version - 1))
    assert {e: (r.rank, r.peers, r.org_mean) for e, r in again.items()} == {
        e: (r.rank, r.peers, r.org_mean) for e, r in ranked.items()}


def test_ann_reads_why_she_has_no_rank(app, worked_example):
    ann_joins_on_thursday(worked_example)
    _publish(worked_example, part_period={"min_share_worked": 60})
    run = worked_example.run()
    client = app.test_client()
    assert sign_in(client, "ann@example.com").status_code == 302
    page = client.get(f"/report?run={run}").get_data(as_text=True)
    assert ("Note: you joined on 2026-11-05 and worked 4 of the period&#39;s 7 days: too few to rank, as the "
            "guideline ranks those who worked at least 60% of a period.") in page
    assert '<span class="figure-value" data-figure="rank">–</span>' in page
    hr = app.test_client()
    assert sign_in(hr, "hr@example.com").status_code == 302
    assert "ranked after working 60% of its days;\n      bonuses paid whole" in hr.get("/guidelines").get_data(
        as_text=True)


def test_a_mean_of_the_ranked_is_withheld_where_it_pools_one_colleague(app, worked_example):
    """The org mean averages the ranked: with Bob unranked, Ann's mean is hers and Dan's, so it tells her Dan's
    score. Bob's composite, outside the mean, counted as a colleague behind it and let it show."""
    with transaction() as session:
        session.get(Employee, worked_example.ids["bob"]).started_on = date(2026, 11, 5)
    _publish(worked_example, part_period={"min_share_worked": 60})
    run = worked_example.run()
    with transaction() as session:
        report = employee_report(session, session.get(AppraisalRun, run), worked_example.ids["ann"],
                                 get_plugins().scoring_rules, audience="employee")
    assert report["org_mean"] is None and report["means_withheld"]


def test_a_bonus_is_paid_for_the_days_worked_when_the_guideline_prorates(app, worked_example):
    ids = worked_example.ids
    ann_joins_on_thursday(worked_example)
    _publish(worked_example, incentives=EVERYONE)
    whole = _offered(worked_example.run())
    assert whole[ids["ann"]][0] == whole[ids["bob"]][0] == 100

    _publish(worked_example, incentives=EVERYONE, part_period={"prorate_bonus": True})
    offered = _offered(worked_example.run())
    assert offered[ids["ann"]] == (57.14, offered[ids["ann"]][1])  # 100 x 4/7 = 57.142..., down to the cent
    assert offered[ids["ann"]][1].endswith("(prorated: worked 4 of the period's 7 days, of 100.00)")
    assert offered[ids["bob"]][0] == offered[ids["dan"]][0] == 100
    assert "prorated" not in offered[ids["bob"]][1]


def test_a_share_worth_less_than_a_cent_proposes_no_bonus():
    guideline = {"incentives": {"tiers": [{"name": "Token", "group": "reward", "conditions": {},
                                           "gives": [{"kind": "bonus", "amount": 0.01, "note": None},
                                                     {"kind": "recognition", "amount": None, "note": None}]}]},
                 "part_period": {"min_share_worked": 0, "prorate_bonus": True}}
    outcome = EmployeeOutcome(1, None, {}, "ok", 80.0, 100.0, 20, worked=(1, 92))
    assert [(p.kind, p.amount) for p in tier_proposals([outcome], guideline)] == [("recognition", None)]
    assert prorated(400, (45, 90)) == 200 and prorated(0.05, (1, 3)) == 0.01


def test_a_preview_shows_who_a_draft_would_stop_ranking(app, worked_example):
    ids = worked_example.ids
    ann_joins_on_thursday(worked_example)
    worked_example.run()
    with transaction() as session:
        draft = validate_guideline({**current_guideline(session).document, "part_period": {"min_share_worked": 60}},
                                   get_plugins())
        preview = preview_guideline(session, draft, get_plugins())
    ann = next(row for row in preview.rows if row.employee_id == ids["ann"])
    assert ann.before.rank is not None and ann.after.rank is None
    # and so no Gold, which asks for a percentile: Silver, which the cap leaves unfunded
    assert ann.changes == ["no longer ranked: too little of the period worked",
                           "recommendations: + bonus (not funded), − bonus 100.00"]
    summary = preview.summary()
    assert (summary["before"]["ranked"], summary["after"]["ranked"]) == (3, 2)


def test_the_pages_that_average_composites_average_the_ranked(app, worked_example):
    """The organisation overview, its trend and teams, and the dashboard of a team with teams below it averaged
    every composite, so their means disagreed with the ones stored and shown to each person."""
    from core.models import Team

    ids = worked_example.ids
    ann_joins_on_thursday(worked_example)
    _publish(worked_example, part_period={"min_share_worked": 60})
    run = worked_example.run()
    results = _results(run)
    ranked_mean = results[ids["bob"]].org_mean
    assert ranked_mean == pytest.approx((results[ids["bob"]].composite + results[ids["dan"]].composite) / 2)
    hr = app.test_client()
    assert sign_in(hr, "hr@example.com").status_code == 302
    page = hr.get(f"/org?run={run}").get_data(as_text=True)
    assert f'data-figure="mean-composite">{ranked_mean:.1f}<' in page
    assert '<dd class="num" data-figure="ranked">2</dd>' in page
    teams = page.split('id="teams"')[1]
    support = teams.split("<td>Support</td>")[1].split("</tr>")[0]
    # Bob alone ranked in Support (Ann unranked, Cat too few)
    assert f'<td class="num">{results[ids["bob"]].composite:.1f}</td>' in support
    assert '<td class="num">1</td>' in support

    with transaction() as session:  # Support under a new parent team: its dashboard averages the subtree
        parent = Team(name="Service", slug="service")
        session.add(parent)
        session.flush()
        session.get(Team, results[ids["bob"]].team_id).parent_id = parent.id
        parent_id = parent.id
    dashboard = hr.get(f"/team?team={parent_id}&run={run}").get_data(as_text=True)
    assert f"{results[ids['bob']].composite:.1f}" in dashboard
    assert f"{(results[ids['ann']].composite + results[ids['bob']].composite) / 2:.1f}" not in dashboard
    ann_row = next(row for row in hr.get(f"/team?team={results[ids['ann']].team_id}&run={run}").get_data(
        as_text=True).split("<tr") if ">Ann</a>" in row)
    assert "not ranked" in ann_row


def test_a_report_says_what_the_run_did_not_what_a_corrected_day_would_have(app, worked_example):
    """Ranked by a run made before her joining day was set, Ann's report said "too few to rank" beside her
    rank: the note worked the rule out again from today's day."""
    _publish(worked_example, part_period={"min_share_worked": 60})
    run = worked_example.run()
    ann_joins_on_thursday(worked_example)
    with transaction() as session:
        report = employee_report(session, session.get(AppraisalRun, run), worked_example.ids["ann"],
                                 get_plugins().scoring_rules)
    assert report["rank"] is not None
    assert report["employee"]["part_worked"].endswith("against peers who may have worked all of it")


def test_publishing_after_the_upgrade_shows_no_part_period_change(app, worked_example):
    from appraisal.guidelines import guideline_diff

    old = {k: v for k, v in validate_guideline(GUIDELINE, get_plugins()).items() if k != "part_period"}
    assert guideline_diff(old, validate_guideline(GUIDELINE, get_plugins())) == []
    assert guideline_diff(old, validate_guideline({**GUIDELINE, "part_period": {"prorate_bonus": True}},
                                                  get_plugins())) == [("part_period.prorate_bonus", False, True)]
