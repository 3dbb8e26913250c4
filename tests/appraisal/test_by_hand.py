"""The worked example of tests/fixtures/appraisal.py, computed by hand, on SQLite and PostgreSQL.

Guideline: CSAT% weight 60, NPS weight 40 (normalised (nps + 100) / 2), min n 4, shrinkage k = 2.

This week                 CSAT (top-2 box)        NPS (points +100/0/-100)
  Ann  (Support)          5 5 4 3  -> 3/4 = 75    10 9 7 3  -> (2-1)/4 = 25
  Bob  (Support)          5 4 4 4 2 1 -> 4/6      10 10 10 6 -> (3-1)/4 = 50
  Cat  (Support)          5 5 (n=2 < 4)           -
  Dan  (Billing)          4 4 4 1 1 -> 3/5 = 60   9 8 8 0  -> (1-1)/4 = 0
  nobody                  1 (org only)
Team Support pooled: CSAT 9/12 = 75, NPS (100 + 200)/8 = 37.5; Billing is Dan alone, so his prior is the
org's: CSAT 12/18 = 66.667 (with nobody's 1), NPS (100 + 200 + 0)/12 = 25.
Shrunk: Ann CSAT (4*75 + 2*75)/6 = 75, NPS (4*25 + 2*37.5)/6 = 29.1667 -> 64.5833
        Bob CSAT (6*66.667 + 2*75)/8 = 68.75, NPS (4*50 + 2*37.5)/6 = 45.8333 -> 72.9167
        Dan CSAT (5*60 + 2*66.667)/7 = 1300/21 = 61.9048, NPS (4*0 + 2*25)/6 = 8.3333 -> 54.1667
Composite: Ann 0.6*75 + 0.4*64.5833 = 70.8333; Bob 0.6*68.75 + 0.4*72.9167 = 70.4167;
           Dan 0.6*61.9048 + 0.4*54.1667 = 1235/21 = 58.8095; Cat and Mia (no items): insufficient data.
Last week: Ann 100 / 100, Bob 0 / -100; team CSAT 50, NPS 0 ->
           Ann (400+100)/6 = 83.333 and (400+0)/6 = 66.667 -> 83.333; Bob 16.667 and -66.667 -> 16.667.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalRun, Recommendation
from appraisal.results import run_rows
from core.db import transaction

APPROX = {"abs": 1e-6}


def _rows(run_id):
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert run.status == "completed", run.error
        return {row["employee"]: row for row in run_rows(session, run)}


def test_metrics_intervals_and_shrinkage(worked_example):
    rows = _rows(worked_example.run())
    ann, bob, cat, dan = rows["Ann"], rows["Bob"], rows["Cat"], rows["Dan"]
    assert ann["metrics"]["csat_percent"]["value"] == pytest.approx(75, **APPROX)
    assert ann["metrics"]["csat_percent"]["n"] == 4
    # Wilson 95% for 3 of 4: 0.3006 to 0.9544
    assert [round(x, 2) for x in ann["metrics"]["csat_percent"]["ci"]] == [30.06, 95.44]
    assert ann["metrics"]["nps"]["value"] == pytest.approx(25, **APPROX)
    assert ann["metrics"]["nps"]["shrunk"] == pytest.approx(175 / 6, **APPROX)
    assert bob["metrics"]["csat_percent"]["value"] == pytest.approx(200 / 3, **APPROX)
    assert bob["metrics"]["csat_percent"]["shrunk"] == pytest.approx(68.75, **APPROX)
    assert bob["metrics"]["nps"]["shrunk"] == pytest.approx(275 / 6, **APPROX)
    assert bob["metrics"]["csat_percent"]["team_mean"] == pytest.approx(75, **APPROX)
    assert dan["metrics"]["csat_percent"]["value"] == pytest.approx(60, **APPROX)
    # alone in Billing: no team mean of his own to shrink toward, the org's instead
    assert dan["metrics"]["csat_percent"]["team_mean"] is None
    assert dan["metrics"]["csat_percent"]["shrunk"] == pytest.approx(1300 / 21, **APPROX)
    assert dan["metrics"]["nps"]["shrunk"] == pytest.approx(25 / 3, **APPROX)
    # the unattributed 1 counts for the org: 3+4+2+3 satisfied of 4+6+2+5+1 = 12/18
    assert dan["metrics"]["csat_percent"]["org_mean"] == pytest.approx(200 / 3, **APPROX)
    assert (cat["metrics"]["csat_percent"]["n"], cat["metrics"]["csat_percent"]["sufficient"]) == (2, False)
    assert cat["metrics"]["csat_percent"]["value"] == 100  # shown, never ranked


def test_composite_ranks_and_benchmarks(worked_example):
    rows = _rows(worked_example.run())
    ann, bob, cat, dan, mia = (rows[n] for n in ("Ann", "Bob", "Cat", "Dan", "Mia Manager"))
    assert ann["composite"] == pytest.approx(70 + 5 / 6, **APPROX)
    assert bob["composite"] == pytest.approx(70 + 5 / 12, **APPROX)
    assert dan["composite"] == pytest.approx(1235 / 21, **APPROX)
    assert (cat["state"], cat["composite"], cat["rank"]) == ("insufficient_data", None, None)
    assert (mia["state"], mia["rank"]) == ("insufficient_data", None)
    assert [(r["rank"], r["percentile"], r["peers"]) for r in (ann, bob, dan)] == [
        (1, 100.0, 3), (2, 50.0, 3), (3, 0.0, 3)]
    assert ann["team_mean"] == pytest.approx((70 + 5 / 6 + 70 + 5 / 12) / 2, **APPROX)
    assert dan["team_mean"] == pytest.approx(1235 / 21, **APPROX)
    assert ann["org_mean"] == pytest.approx((70 + 5 / 6 + 70 + 5 / 12 + 1235 / 21) / 3, **APPROX)
    assert ann["previous_composite"] == pytest.approx(250 / 3, **APPROX)
    assert ann["change"] == pytest.approx(70 + 5 / 6 - 250 / 3, **APPROX)
    assert bob["change"] == pytest.approx(70 + 5 / 12 - 50 / 3, **APPROX)
    assert dan["previous_composite"] is None and dan["change"] is None
    assert ann["metrics"]["csat_percent"]["change"] == pytest.approx(-25, **APPROX)


def test_targets_and_attainment(worked_example):
    rows = _rows(worked_example.run())
    # Ann's own target (80) beats her team's (65); Bob and Cat have the team's; Dan his own (50).
    got = {name: (rows[name]["metrics"]["csat_percent"]["target"], rows[name]["metrics"]["csat_percent"]
                  ["attainment"], rows[name]["targets"], rows[name]["attainment_streak"])
           for name in ("Ann", "Bob", "Cat", "Dan")}
    assert got == {"Ann": (80, "below", "not_met", 0),        # 75 is 5 short
                   "Bob": (65, "met", "met", 1),              # 66.7 is 1.7 over, less than 5
                   "Cat": (65, None, "not_judged", 0),         # too few answers to judge
                   "Dan": (50, "exceeded", "met", 1)}          # 60 is 10 over


def test_case_mix_and_training_needs(worked_example):
    rows = _rows(worked_example.run())
    # Org by category: Billing 7 of 8 = 87.5, Refunds 3 of 7 = 42.857
    dan = rows["Dan"]["case_mix"]
    assert [(c["category"], c["n"], round(c["value"], 3), round(c["org_value"], 3)) for c in dan["categories"]] \
        == [("Billing", 3, 100.0, 87.5), ("Refunds", 2, 0.0, 42.857)]
    assert [c["org_people"] for c in dan["categories"]] == [3, 3]  # Ann, Bob and Dan in both
    assert dan["expected"] == pytest.approx((3 * 87.5 + 2 * 300 / 7) / 5, **APPROX)
    assert dan["difference"] == pytest.approx(60 - (3 * 87.5 + 2 * 300 / 7) / 5, **APPROX)
    needs = {name: [(n["area"], n["name"]) for n in rows[name]["training_needs"]] for name in rows}
    assert needs == {"Ann": [], "Bob": [("ticket_category", "Billing")], "Cat": [],
                     "Dan": [("ticket_category", "Refunds")], "Mia Manager": []}


def test_recommendations_and_budget(worked_example):
    run_id = worked_example.run()
    with transaction() as session:
        recs = session.execute(select(Recommendation).where(Recommendation.run_id == run_id)
                               .order_by(Recommendation.id)).scalars().all()
        got = sorted((r.employee_id, r.kind, r.amount, r.requested_amount, r.status) for r in recs)
    ids = worked_example.ids
    # Gold for Ann (percentile 100, composite 70.8); Silver for Bob and Dan (streak 1, composite >= 55);
    # coaching for Dan (58.8 <= 60). Cap 130, rank order: Ann 100, Bob the 30 left, Dan nothing.
    assert got == sorted([
        (ids["ann"], "bonus", 100.0, 100.0, "proposed"),
        (ids["ann"], "recognition", None, None, "approved"),
        (ids["bob"], "bonus", 30.0, 60.0, "proposed"),
        (ids["bob"], "training", None, None, "approved"),
        (ids["dan"], "bonus", 0.0, 60.0, "rejected"),  # not funded: nothing to approve
        (ids["dan"], "coaching", None, None, "approved"),
        (ids["dan"], "training", None, None, "approved"),
    ])


def test_two_rules_reading_one_kind(worked_example):
    from appraisal.guidelines import publish_guideline

    with transaction() as session:
        publish_guideline(session, {"metrics": [{"rule": "csat_percent", "weight": 50},
                                                {"rule": "csat_mean", "weight": 30},
                                                {"rule": "nps", "weight": 20}], "min_sample": 4})
    rows = _rows(worked_example.run())
    ann = rows["Ann"]["metrics"]
    # 5 5 4 3: 3 of 4 satisfied, a mean of 4.25; NPS as before
    assert (ann["csat_percent"]["value"], ann["csat_mean"]["value"], ann["nps"]["value"]) == (75, 4.25, 25)
    assert ann["csat_mean"]["n"] == ann["csat_percent"]["n"] == 4


def test_a_case_mix_metric_outside_the_guideline_holds_nobodys_incentives(worked_example):
    """Under an NPS-only guideline the case mix still reads CSAT % (the default), but a quarantined CSAT item
    counts for no metric, so it is no open flag on its employee."""
    from sqlalchemy import update

    from appraisal.guidelines import publish_guideline
    from core.models import Feedback
    from tests.fixtures.appraisal import WEEK

    with transaction() as session:
        publish_guideline(session, {"metrics": [{"rule": "nps", "weight": 100}], "min_sample": 4})
        ann = worked_example.ids["ann"]
        csat = session.scalar(select(Feedback.id).where(Feedback.employee_id == ann, Feedback.kind == "csat",
                                                        Feedback.occurred_at >= WEEK.start).limit(1))
        session.execute(update(Feedback).where(Feedback.id == csat).values(status="quarantined"))
    rows = _rows(worked_example.run())
    assert rows["Ann"]["open_flags"] == 0
    assert rows["Dan"]["case_mix"]["metric"] == "csat_percent"  # the case mix is still there


def test_a_tiers_min_n_counts_each_answer_once(worked_example):
    """CSAT % and CSAT mean read the same 4 answers of Ann's; with her 4 NPS answers that is 8 items, not 12."""
    import copy

    from appraisal.guidelines import publish_guideline
    from tests.fixtures.appraisal import GUIDELINE

    document = copy.deepcopy(GUIDELINE)
    document["metrics"] = [{"rule": "csat_percent", "weight": 50}, {"rule": "csat_mean", "weight": 30},
                           {"rule": "nps", "weight": 20}]
    document["incentives"] = {"tiers": [
        {"name": "Nine", "conditions": {"min_n": 9}, "gives": [{"kind": "recognition"}]},
        {"name": "Eight", "conditions": {"min_n": 8}, "gives": [{"kind": "recognition"}]}],
        "budget": {"cap": None}}
    with transaction() as session:
        publish_guideline(session, document)
    run_id = worked_example.run()
    with transaction() as session:
        reasons = session.scalars(select(Recommendation.reason).where(
            Recommendation.run_id == run_id, Recommendation.employee_id == worked_example.ids["ann"])).all()
    assert [reason.split(":")[0] for reason in reasons] == ["Eight"]
