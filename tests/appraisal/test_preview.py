"""The guideline preview against what stands for the period and what a real re-run under the draft gives.

The worked example under version 1 (cap 130): Ann's Gold bonus of 100 and Bob's Silver bonus cut to 30 await
approval, Dan's Silver bonus is left unfunded; Ann's recognition, Dan's coaching and Bob's and Dan's training
need no approval and are approved as the run is made.
"""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from appraisal.guideline_schema import validate_guideline
from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalResult, AppraisalRun, Recommendation
from appraisal.preview import Offer, preview_guideline
from appraisal.report import period_recommendations
from appraisal.review import decide_recommendation
from core.db import transaction
from core.models import Employee, User
from core.plugins import get_plugins
from tests.fixtures.appraisal import GUIDELINE

EVEN = [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 50}]


def _guideline(**changes) -> dict:
    document = copy.deepcopy(GUIDELINE)
    document.update(changes)
    return document


def _publish(document) -> None:
    with transaction() as session:
        publish_guideline(session, document)


def _preview(document):
    with transaction() as session:
        preview = preview_guideline(session, validate_guideline(document, get_plugins()), get_plugins())
        session.rollback()
    return preview


def _funded(offers) -> list[str]:
    return sorted(offer.label for offer in offers if offer.kind != "bonus" or offer.amount)


def _decide(example, decisions: dict[str, bool]) -> None:
    """The manager approves (True) or rejects (False) each named employee's bonus awaiting a decision."""
    with transaction() as session:
        manager = session.get(User, example.manager)
        for name, approve in decisions.items():
            bonus = session.scalar(select(Recommendation.id).where(
                Recommendation.employee_id == example.ids[name], Recommendation.kind == "bonus",
                Recommendation.status == "proposed"))
            decide_recommendation(session, bonus, manager, approve=approve)


def _standing(run_id) -> tuple[dict[str, list[str]], float]:
    """What stands for the run's period (approved, or awaiting a decision) per employee, and its bonuses."""
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        names = dict(session.execute(select(Employee.id, Employee.name)).all())
        standing = period_recommendations(
            session, run, select(AppraisalResult.employee_id).where(AppraisalResult.run_id == run_id))
    kept = {names[employee_id]: [r for r in recommendations if r["status"] != "rejected"]
            for employee_id, recommendations in standing.items()}
    labels = {name: sorted(Offer(r["kind"], r["amount"]).label for r in rs) for name, rs in kept.items() if rs}
    return labels, sum(r["amount"] for rs in kept.values() for r in rs if r["kind"] == "bonus")


def _after(preview) -> tuple[dict[str, list[str]], float]:
    labels = {row.name: _funded(row.after.offers) for row in preview.rows if row.after is not None}
    return {name: offers for name, offers in labels.items() if offers}, preview.summary()["after"]["bonus"]


def _before(preview) -> tuple[dict[str, list[str]], float]:
    labels = {row.name: _funded(row.before.offers) for row in preview.rows if row.before is not None}
    return {name: offers for name, offers in labels.items() if offers}, preview.summary()["before"]["bonus"]


def test_the_guideline_in_force_changes_nothing_after_approvals_rejections_and_re_runs(worked_example):
    document = _guideline(incentives={**GUIDELINE["incentives"], "budget": {"cap": 500, "allocation": "rank_order"}})
    _publish(document)  # every bonus funded: a rejection frees nothing a re-run would give someone else
    first = worked_example.run()
    preview = _preview(document)
    assert preview.changed == [] and _before(preview) == _after(preview)
    assert _before(preview) == _standing(first) == ({
        "Ann": ["bonus 100.00", "recognition"], "Bob": ["bonus 60.00", "training"],
        "Dan": ["bonus 60.00", "coaching", "training"]}, 220)

    _decide(worked_example, {"ann": True, "bob": False})
    preview = _preview(document)
    assert [(row.name, row.changes) for row in preview.changed] == []
    # Bob's rejected bonus counts nowhere; Ann's approved one once
    decided = _standing(first)
    assert _before(preview) == _after(preview) == decided == ({
        "Ann": ["bonus 100.00", "recognition"], "Bob": ["training"],
        "Dan": ["bonus 60.00", "coaching", "training"]}, 160)

    # A re-run issues nothing again: what the first run approved stands, and the preview of the re-run says so.
    second = worked_example.run()
    preview = _preview(document)
    assert [(row.name, row.changes) for row in preview.changed] == []
    assert _before(preview) == _after(preview) == _standing(second) == decided


@pytest.mark.parametrize("decisions", [{}, {"ann": True}, {"ann": True, "bob": False}],
                         ids=["undecided", "approved", "approved-and-rejected"])
def test_a_changed_draft_shows_what_publishing_it_and_re_running_the_period_gives(worked_example, decisions):
    worked_example.run()
    _decide(worked_example, decisions)
    draft = _guideline(metrics=EVEN)
    preview = _preview(draft)
    _publish(draft)
    rerun = worked_example.run()
    assert _after(preview) == _standing(rerun)
    if not decisions:  # Gold moves to Bob, Dan's Silver gets the 30 left; Ann's recognition was approved: it stays
        assert _after(preview) == ({"Ann": ["recognition"], "Bob": ["bonus 100.00", "recognition", "training"],
                                    "Dan": ["bonus 30.00", "coaching", "training"]}, 130)
        assert {row.name: row.changes[-1] for row in preview.changed} == {
            "Ann": "recommendations: − bonus 100.00",
            "Bob": "recommendations: + bonus 100.00, + recognition, − bonus 30.00",
            "Dan": "recommendations: + bonus 30.00, − bonus (not funded)"}


def test_a_rejection_frees_budget_a_re_run_would_spend_and_the_preview_says_so(worked_example):
    """Under the guideline in force, still: the 30 a manager refused Bob goes to Dan, next in rank, on a re-run."""
    worked_example.run()
    _decide(worked_example, {"bob": False})
    preview = _preview(GUIDELINE)
    assert [(row.name, row.changes) for row in preview.changed] == [
        ("Dan", ["recommendations: + bonus 30.00, − bonus (not funded)"])]
    assert _after(preview) == _standing(worked_example.run())


def test_the_runs_own_automatic_approvals_are_not_proposed_again(worked_example):
    document = _guideline(approval_required=[])  # every bonus is approved as the run is made
    _publish(document)
    first = worked_example.run()
    paid = _standing(first)
    assert paid == ({"Ann": ["bonus 100.00", "recognition"], "Bob": ["bonus 30.00", "training"],
                     "Dan": ["coaching", "training"]}, 130)
    assert _preview(document).changed == []
    draft = {**document, "metrics": EVEN}
    preview = _preview(draft)
    # Bob now earns Gold, but the cap was spent: only his recognition is new; nothing paid is paid again.
    assert _after(preview) == ({**paid[0], "Bob": ["bonus 30.00", "recognition", "training"]}, 130)
    _publish(draft)
    assert _after(preview) == _standing(worked_example.run())
