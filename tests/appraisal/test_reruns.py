"""Runs are reproducible, keep their guideline version, and a new version changes only what it should."""
from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from appraisal.aggregates import MetricSpec, metric_aggregates
from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalRun, MetricResult, Recommendation
from appraisal.report import period_recommendations
from appraisal.results import run_rows
from core.db import transaction
from core.models import Feedback
from tests.fixtures.appraisal import GUIDELINE, WEEK

# What may differ between two runs of the same thing: their ids, when they were decided, and on which run
# (a re-run leaves out what an earlier run of the period approved: it stands, and the reports show it).
VOLATILE = {"id", "run_id", "decided_at", "guideline_version"}


def _snapshot(run_id):
    """The run's results and metrics, with the recommendations that stand for its period after it."""
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert run.status == "completed", run.error
        rows = run_rows(session, run)
        standing = period_recommendations(session, run, [row["employee_id"] for row in rows])
        for row in rows:
            row["recommendations"] = sorted(
                ({k: v for k, v in rec.items() if k not in VOLATILE} for rec in standing.get(row["employee_id"], [])),
                key=lambda rec: (rec["kind"], rec["source"], rec["reason"]))
        metrics = [{k: v for k, v in vars(m).items() if k not in VOLATILE and not k.startswith("_")}
                   for m in session.scalars(select(MetricResult).where(MetricResult.run_id == run_id)
                                            .order_by(MetricResult.employee_id, MetricResult.metric))]
        return rows, metrics, run.guideline.version


def _publish(change, note):
    document = copy.deepcopy(GUIDELINE)
    change(document)
    with transaction() as session:
        return publish_guideline(session, document, note=note).version


def test_the_same_period_and_version_give_identical_results(worked_example):
    first = worked_example.run()
    before = _snapshot(first)  # as it was computed: the second run supersedes its open proposals
    second = worked_example.run()
    assert first != second
    assert _snapshot(second) == before


def test_points_taken_from_values_add_up_exactly_in_any_order(app, session, worked_example):
    """Ten sentiments of 0.001 score 0.1 points each. Added up as float8 they make 0.9999999999999999
    whatever the order; exactly, 1. PostgreSQL's parallel workers hand over partial sums in no fixed order,
    so only an exact sum makes every re-run of a value-based metric identical to the bit."""
    ann = worked_example.ids["ann"]
    for number in range(10):
        session.add(Feedback(channel="social_monitoring", kind="social_mention", external_id=f"exact-{number}",
                             value=0.001, scale_min=-1.0, scale_max=1.0, employee_id=ann,
                             attribution_policy="author", occurred_at=WEEK.start + timedelta(hours=number),
                             payload={}))
    session.commit()
    rule = app.extensions["plaudit.plugins"].scoring_rules["social_sentiment"]
    aggregate = metric_aggregates(session, [MetricSpec("social_sentiment", rule, {})], WEEK.start, WEEK.end
                                  )[0][ann]["social_sentiment"]
    assert aggregate.n == 10
    if session.get_bind().dialect.name == "postgresql":
        assert (aggregate.total, aggregate.squares) == (1.0, 0.1)
    else:  # SQLite adds in one order (no parallel workers), the same on every run: float8's sum
        assert (aggregate.total, aggregate.squares) == (sum([0.001 * 100.0] * 10), sum([0.1 * 0.1] * 10))


def test_only_points_that_are_not_whole_constants_are_added_as_numeric(app):
    """Whole-number points (100, 0, -100) add up exactly as float8, the faster way; values do not."""
    from appraisal.aggregates import _whole_constants
    from core.models import Feedback as item

    rules = app.extensions["plaudit.plugins"].scoring_rules
    whole = {name: _whole_constants(rule.points(item, rule.params_schema().load({}) if rule.params_schema else {}))
             for name, rule in rules.items() if name != "mystery_section"}
    assert {name for name, is_whole in whole.items() if is_whole} == {
        "csat_percent", "nps", "first_response_sla", "resolution_sla"}
    assert not _whole_constants(rules["mystery_section"].points(item, {"section": "greeting"}))


def test_a_run_keeps_its_guideline_version(worked_example):
    first = worked_example.run()
    before = _snapshot(first)
    _publish(lambda d: d.update(min_sample=5), "stricter sample")
    assert _snapshot(first)[2] == 1
    again = worked_example.run(version=1)
    assert _snapshot(again) == before


def test_a_new_allocation_rule_changes_only_the_bonus_amounts(worked_example):
    before_rows, before_metrics, _ = _snapshot(worked_example.run())
    version = _publish(lambda d: d["incentives"]["budget"].update(allocation="pro_rata"), "share the budget")
    after_rows, after_metrics, after_version = _snapshot(worked_example.run())
    assert after_version == version == 2
    assert after_metrics == before_metrics

    def without_bonuses(rows):
        return [{**row, "recommendations": [r for r in row["recommendations"] if r["kind"] != "bonus"]}
                for row in rows]

    assert without_bonuses(after_rows) == without_bonuses(before_rows)
    bonuses = {row["employee"]: r["amount"] for row in after_rows for r in row["recommendations"]
               if r["kind"] == "bonus"}
    # 100 + 60 + 60 = 220 asked of a cap of 130: each gets 130/220 of it, floored to the cent.
    assert bonuses == {"Ann": 59.09, "Bob": 35.45, "Dan": 35.45}
    assert sum(bonuses.values()) <= 130


def test_a_new_weight_changes_composites_and_standing_but_not_the_metrics(worked_example):
    _, before_metrics, _ = _snapshot(worked_example.run())

    def reweigh(document):
        document["metrics"][0]["weight"], document["metrics"][1]["weight"] = 20, 80

    _publish(reweigh, "NPS matters more")
    after_rows, after_metrics, _ = _snapshot(worked_example.run())
    strip = [{k: v for k, v in m.items() if k != "weight"} for m in before_metrics]
    assert [{k: v for k, v in m.items() if k != "weight"} for m in after_metrics] == strip
    composites = {row["employee"]: row["composite"] for row in after_rows}
    # Ann 0.2*75 + 0.8*64.5833 = 66.6667; Bob 0.2*68.75 + 0.8*72.9167 = 72.0833;
    # Dan 0.2*61.9048 + 0.8*54.1667 = 1170/21 (test_by_hand)
    assert composites["Ann"] == pytest.approx(200 / 3, abs=1e-6)
    assert composites["Bob"] == pytest.approx(72 + 1 / 12, abs=1e-6)
    assert composites["Dan"] == pytest.approx(1170 / 21, abs=1e-6)
    assert [row["employee"] for row in after_rows if row["rank"]] == ["Bob", "Ann", "Dan"]


def test_recommendation_decisions_survive_a_rerun(worked_example, app):
    from appraisal.review import decide_recommendation
    from core.models import User

    first = worked_example.run()
    with transaction() as session:
        rec = session.scalar(select(Recommendation).where(Recommendation.run_id == first,
                                                          Recommendation.status == "proposed").limit(1))
        decide_recommendation(session, rec.id, session.get(User, worked_example.hr), approve=True, note="ok")
        decided = rec.id
    second = worked_example.run()
    with transaction() as session:
        assert session.get(Recommendation, decided).status == "approved"
        # The first run's other proposals give way to the second's, so nobody is paid twice.
        left = session.execute(select(Recommendation.status, Recommendation.decision_note).where(
            Recommendation.run_id == first, Recommendation.id != decided, Recommendation.needs_approval)).all()
        assert {status for status, _ in left} == {"rejected"}
        assert f"superseded by run {second}" in {note for _, note in left}


def test_a_run_whose_rule_is_no_longer_loaded_fails_once_with_a_reason(worked_example, make_app):
    from core.models import PendingJob

    trimmed = make_app(PLUGINS_BLOCKED=["survey_scores"])  # csat_percent and nps are gone
    with trimmed.app_context():
        from appraisal.runs import request_run
        from tests.fixtures.appraisal import WEEK

        with transaction() as session:
            run_id = request_run(session, WEEK).id
        with transaction() as session:
            run = session.get(AppraisalRun, run_id)
            assert run.status == "failed"
            assert "csat_percent, nps, which no loaded plugin provides" in run.error
            assert session.scalars(select(PendingJob)).all() == []  # not retried: it cannot succeed


def test_a_rerun_never_pays_twice_nor_past_the_cap(worked_example):
    from appraisal.review import decide_recommendation
    from core.models import User

    first = worked_example.run()
    ann = worked_example.ids["ann"]
    with transaction() as session:
        bonus = session.scalar(select(Recommendation).where(Recommendation.run_id == first,
                                                            Recommendation.employee_id == ann,
                                                            Recommendation.kind == "bonus"))
        decide_recommendation(session, bonus.id, session.get(User, worked_example.hr), approve=True)
    second = worked_example.run()
    with transaction() as session:
        bonuses = {r.employee_id: r for r in session.scalars(select(Recommendation).where(
            Recommendation.run_id == second, Recommendation.kind == "bonus"))}
    # Ann's 100 is paid already: no second bonus. It used 100 of the 130 cap, so Bob's 60 becomes the 30 left.
    assert ann not in bonuses
    bob = bonuses[worked_example.ids["bob"]]
    assert (bob.amount, bob.requested_amount, bob.status) == (30.0, 60.0, "proposed")
    assert "100.00 of the cap approved already on earlier runs of the period" in bob.reason
    assert bonuses[worked_example.ids["dan"]].amount == 0


# --- what a re-run does with the decisions taken on the period's earlier runs ------------------------------------


def _stored(run_id) -> list[tuple]:
    """The run's own recommendations: (employee's name, kind, amount, status), sorted."""
    from core.models import Employee

    with transaction() as session:
        return sorted(session.execute(
            select(Employee.name, Recommendation.kind, Recommendation.amount, Recommendation.status)
            .join(Employee, Employee.id == Recommendation.employee_id)
            .where(Recommendation.run_id == run_id)).all())


def _decide(example, run_id, name, kind, *, approve):
    from appraisal.review import decide_recommendation
    from core.models import User

    with transaction() as session:
        rec = session.scalar(select(Recommendation).where(
            Recommendation.run_id == run_id, Recommendation.employee_id == example.ids[name],
            Recommendation.kind == kind))
        decide_recommendation(session, rec.id, session.get(User, example.hr), approve=approve, note="decided")


def test_a_rerun_issues_again_nothing_approved_before(worked_example):
    """Recognition, coaching and training need no approval here, so each run approved them at once: four runs
    of one week gave Ann four recognitions. What stands is issued once; a re-run proposes only the bonuses."""
    first = worked_example.run()
    for _ in range(3):
        last = worked_example.run()
    assert _stored(last) == [("Ann", "bonus", 100.0, "proposed"), ("Bob", "bonus", 30.0, "proposed"),
                             ("Dan", "bonus", 0.0, "rejected")]
    with transaction() as session:
        approved = session.execute(
            select(Recommendation.employee_id, Recommendation.kind, func.count())
            .where(Recommendation.status == "approved").group_by(Recommendation.employee_id, Recommendation.kind)
        ).all()
        assert {count for _, _, count in approved} == {1}
        assert set(session.scalars(select(Recommendation.run_id).where(Recommendation.status == "approved"))) == {
            first}


def test_a_rejection_by_a_person_stands_and_frees_the_budget(worked_example):
    """HR rejects Ann's bonus and Dan's coaching: a re-run proposes neither again, and the 100 Ann's bonus
    held goes down the ranks (Bob's 60 in full, Dan's 60 from nothing). Rejections no person made (Dan's
    unfunded bonus, the first run's superseded proposals) decide nothing."""
    _publish(lambda d: d.update(approval_required=["bonus", "coaching"]), "coaching is approved")
    first = worked_example.run()
    _decide(worked_example, first, "ann", "bonus", approve=False)
    _decide(worked_example, first, "dan", "coaching", approve=False)
    second = worked_example.run()
    assert [rec for rec in _stored(second) if rec[1] != "training"] == [
        ("Bob", "bonus", 60.0, "proposed"), ("Dan", "bonus", 60.0, "proposed")]
    third = worked_example.run()  # the second run's bonuses were superseded, not rejected: proposed again
    assert [rec for rec in _stored(third) if rec[1] != "training"] == [
        ("Bob", "bonus", 60.0, "proposed"), ("Dan", "bonus", 60.0, "proposed")]


def test_a_top_up_the_cap_leaves_at_nothing_is_not_stored(worked_example):
    """Ann's 100 and Bob's 30 are approved; a new version raises Gold to 150 and Silver to 90. The cap of 130
    is spent: their top-ups (50, 60) are left at nothing. The bonuses approved stand, and nobody rejected
    them; Dan, who has nothing approved, is still listed unfunded, so HR sees that he qualified."""
    first = worked_example.run()
    _decide(worked_example, first, "ann", "bonus", approve=True)
    _decide(worked_example, first, "bob", "bonus", approve=True)

    def richer(document):
        document["incentives"]["tiers"][0]["gives"][0]["amount"] = 150
        document["incentives"]["tiers"][1]["gives"][0]["amount"] = 90

    _publish(richer, "richer tiers")
    second = worked_example.run()
    assert [rec for rec in _stored(second) if rec[1] == "bonus"] == [("Dan", "bonus", 0.0, "rejected")]


def test_the_report_of_a_rerun_shows_what_was_approved_on_the_earlier_run(worked_example, app):
    """Ann's bonus approved on the first run is hers on the second run's reports too, saying which run and
    version approved it; her recognition is listed once, and a manager still sees Bob's new proposal."""
    from appraisal.report import employee_report, team_report
    from core.plugins import get_plugins

    first = worked_example.run()
    _decide(worked_example, first, "ann", "bonus", approve=True)
    second = worked_example.run()
    ann, bob = worked_example.ids["ann"], worked_example.ids["bob"]
    rules = get_plugins().scoring_rules
    with transaction() as session:
        run = session.get(AppraisalRun, second)
        own = employee_report(session, run, ann, rules)["recommendations"]
        assert [(r["kind"], r["amount"], r["status"]) for r in own] == [
            ("bonus", 100.0, "approved"), ("recognition", None, "approved")]
        assert [(r["run_id"], r["guideline_version"]) for r in own] == [(first, 1), (first, 1)]
        team = {row["employee_id"]: row["recommendations"]
                for row in team_report(session, run, [_team_of(session, ann)], rules)["rows"]}
        assert [(r["kind"], r["status"]) for r in team[ann]] == [("bonus", "approved"), ("recognition", "approved")]
        # Bob's bonus: the first run's proposal was superseded; the second run proposes it again, net of
        # nothing, within what Ann's 100 left of the cap.
        assert [(r["kind"], r["amount"], r["status"], r["run_id"]) for r in team[bob]] == [
            ("training", None, "approved", first), ("bonus", 30.0, "proposed", second)]
        # The first run's report shows the same decisions; its own superseded proposals say so.
        old = {row["employee_id"]: row["recommendations"] for row in team_report(
            session, session.get(AppraisalRun, first), [_team_of(session, ann)], rules)["rows"]}
        assert [(r["kind"], r["status"], r["automatic"], r["decision_note"]) for r in old[bob]] == [
            ("bonus", "rejected", True, f"superseded by run {second}"), ("training", "approved", False,
                                                                          "guideline v1: needs no approval")]


def _team_of(session, employee_id):
    from core.models import Employee

    return session.get(Employee, employee_id).team_id


def test_reports_read_rows_stored_before_reruns_left_decisions_alone(worked_example, app):
    """A database from before this fix holds a re-run's second recognition and its 0.00 top-up 'not funded'
    for someone whose bonus was approved: the reports list the recognition once and no rejection."""
    from appraisal.report import employee_report
    from core.plugins import get_plugins

    first = worked_example.run()
    _decide(worked_example, first, "ann", "bonus", approve=True)
    second = worked_example.run()
    ann = worked_example.ids["ann"]
    with transaction() as session:
        common = {"run_id": second, "employee_id": ann, "source": "tier:Gold", "needs_approval": False}
        session.add_all([
            Recommendation(**common, kind="recognition", reason="Gold: composite 70.8", status="approved",
                           decision_note="guideline v1: needs no approval"),
            Recommendation(**{**common, "needs_approval": True}, kind="bonus", amount=0.0, requested_amount=150.0,
                           reason="Gold: ...; cut from 50.00 to 0.00", status="rejected",
                           decision_note="not funded: the budget cap was reached")])
    with transaction() as session:
        run = session.get(AppraisalRun, second)
        for audience in ("employee", "manager"):
            shown = employee_report(session, run, ann, get_plugins().scoring_rules, audience=audience)
            assert [(r["kind"], r["status"]) for r in shown["recommendations"]] == [
                ("bonus", "approved"), ("recognition", "approved")], audience


def test_a_training_recommendation_is_the_same_one_when_it_is_about_the_same_need():
    """Training's source names only the area: two needs in one area are two recommendations, and the same need
    measured again on a re-run (other values, another n) is the one approved before."""
    from appraisal.incentives import (
        Decision,
        Proposal,
        training_reason,
        without_decided,
    )

    def need(name, value, n):
        return {"area": "ticket_category", "name": name, "metric": "csat_percent", "value": value,
                "benchmark": 66.7, "n": n, "gap": value - 66.7}

    def training(name, value, n):
        return Proposal(7, "training", "training:ticket_category", training_reason(need(name, value, n)))

    billing = training("Billing: invoices", 40.0, 3)  # a colon in the category's name too
    before = Decision(7, "training", billing.source, training("Billing: invoices", 50.0, 2).reason, None, True)
    refunds = training("Refunds", 20.0, 4)
    recognition = Proposal(7, "recognition", "tier:Gold", "Gold: composite 80.0")
    assert without_decided([billing, refunds, recognition], [before]) == [refunds, recognition]
    assert without_decided([billing, refunds], [before, before]) == [refunds]  # each decision stands for one


def test_two_runs_of_one_period_computing_at_once_issue_a_recognition_once(app, worked_example, database):
    """Each run leaves out what the period's other runs decided; computing at the same moment, neither saw the
    other's auto-approved recognition and Ann got two. They now take turns per period (PostgreSQL)."""
    import threading

    from appraisal.models import Guideline
    from appraisal.runs import compute_run
    from tests.fixtures.appraisal import WEEK

    if database.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: two runs cannot compute at once")
    with transaction() as session:
        guideline = session.scalar(select(Guideline).order_by(Guideline.version.desc()).limit(1))
        if guideline is None:
            worked_example.run()  # publishes the guideline in force
            guideline = session.scalar(select(Guideline).order_by(Guideline.version.desc()).limit(1))
        runs = [AppraisalRun(period_kind=WEEK.kind, period_start=WEEK.start, period_end=WEEK.end,
                             guideline_id=guideline.id, status="queued") for _ in range(2)]
        session.add_all(runs)
        session.flush()
        run_ids = [run.id for run in runs]
    barrier, errors = threading.Barrier(2), []

    def compute(run_id):
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                assert compute_run(run_id) == "completed"
        except Exception as exc:  # noqa: BLE001 -- surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=compute, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with transaction() as session:
        recognitions = session.scalars(select(Recommendation.run_id).where(
            Recommendation.run_id.in_(run_ids), Recommendation.employee_id == worked_example.ids["ann"],
            Recommendation.kind == "recognition", Recommendation.status == "approved")).all()
    assert len(recognitions) == 1, recognitions


def _bonuses(run_id) -> dict[tuple[str, str], tuple[float, float]]:
    """The run's bonuses: (employee's name, source) -> (amount, requested amount)."""
    from core.models import Employee

    with transaction() as session:
        return {(name, source): (amount, requested) for name, source, amount, requested in session.execute(
            select(Employee.name, Recommendation.source, Recommendation.amount, Recommendation.requested_amount)
            .join(Employee, Employee.id == Recommendation.employee_id)
            .where(Recommendation.run_id == run_id, Recommendation.kind == "bonus"))}


def test_an_approved_bonus_is_taken_off_its_own_source_only(worked_example):
    """Bob qualifies for Silver (60) and, in a group of its own, Steady (20). With Silver approved, a re-run
    took the 60 off each of his bonuses: Steady vanished without a word."""
    def steady(document):
        document["incentives"]["tiers"].append({"name": "Steady", "group": "streaks",
                                                "conditions": {"min_streak": 1},
                                                "gives": [{"kind": "bonus", "amount": 20}]})
        document["incentives"]["budget"]["cap"] = None

    _publish(steady, "a bonus for a streak")
    first = worked_example.run()
    assert _bonuses(first)[("Bob", "tier:Silver")] == (60.0, 60.0)
    _decide(worked_example, first, "bob", "bonus", approve=True)  # his only bonus of the run: Silver
    again = _bonuses(worked_example.run())
    assert ("Bob", "tier:Silver") not in again  # paid in full
    assert again[("Bob", "tier:Steady")] == (20.0, 20.0)  # untouched by Silver's payment


def test_pro_rata_after_an_approval_stays_pro_rata(worked_example):
    """100 + 60 + 60 asked of 130, pro rata: 59.09, 35.45, 35.45. With Ann's approved, a re-run of the same
    period had cut what was still owed by one factor: Ann 18.02 more (77.11 in all), Bob and Dan 26.44."""
    _publish(lambda d: d["incentives"]["budget"].update(allocation="pro_rata"), "share the budget")
    first = worked_example.run()
    assert {who: amount for (who, _), (amount, _) in _bonuses(first).items()} == {
        "Ann": 59.09, "Bob": 35.45, "Dan": 35.45}
    _decide(worked_example, first, "ann", "bonus", approve=True)
    again = {who: amount for (who, _), (amount, _) in _bonuses(worked_example.run()).items()}
    assert again == {"Bob": 35.45, "Dan": 35.45}  # everyone at 130/220 of their tier's bonus, Ann paid already


def _decide_id(example, recommendation_id):
    from appraisal.review import decide_recommendation
    from core.models import User

    with transaction() as session:
        decide_recommendation(session, recommendation_id, session.get(User, example.hr), approve=True, note="ok")


def test_a_tier_giving_two_bonuses_is_not_paid_twice_once_approved(worked_example):
    """Approvals were summed per source and taken off its largest bonus alone: Gold's second bonus (50) was
    proposed again in full after both were approved."""
    def two(document):
        document["incentives"]["tiers"][0]["gives"] = [{"kind": "bonus", "amount": 100},
                                                       {"kind": "bonus", "amount": 50, "note": "voucher"}]
        document["incentives"]["budget"]["cap"] = None

    _publish(two, "two bonuses")
    first = worked_example.run()
    with transaction() as session:
        ids = session.scalars(select(Recommendation.id).where(
            Recommendation.run_id == first, Recommendation.employee_id == worked_example.ids["ann"],
            Recommendation.kind == "bonus")).all()
    assert len(ids) == 2
    for recommendation_id in ids:
        _decide_id(worked_example, recommendation_id)
    assert [who for who, _ in _bonuses(worked_example.run())] == ["Bob", "Dan"]  # Ann's 150 is paid


def test_pro_rata_after_an_approval_tops_up_to_the_cent(worked_example):
    """60 - 39.70 is 20.299999999999997 in floating point, floored to 20.29: a re-run under a larger cap proposed
    39.71 more, 60.01 in all, and called it a cut."""
    _publish(lambda d: d["incentives"]["budget"].update(cap=74.44, allocation="pro_rata"), "a small cap")
    first = worked_example.run()
    assert _bonuses(first)[("Bob", "tier:Silver")] == (20.3, 60.0)
    _decide(worked_example, first, "bob", "bonus", approve=True)
    _publish(lambda d: d["incentives"]["budget"].update(cap=1000, allocation="pro_rata"), "a larger cap")
    again = _bonuses(worked_example.run())
    assert again[("Bob", "tier:Silver")] == (39.7, 60.0)
