"""A dispute on a mystery report is about the whole visit: every item of the report, and who served.

Sam visits Ann twice, her service poor (0 of 5) both times; Olga visits Dan twice, his service perfect. Product
knowledge is 2 of 3 for everyone, so each of Ann's reports scores 0.4 x 2/3 (26.7) and each of Dan's 0.6 + that
(86.7). Service: Ann 0, Dan 100, the organisation 50, so Ann is 50 points short: a training need.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalResult, MetricResult
from appraisal.review import DecisionError, decide_dispute, raise_dispute
from channels.mystery_shopper.assignments import create_assignment
from channels.mystery_shopper.models import Report
from channels.mystery_shopper.reports import approve_report, submit_report
from core.db import transaction
from core.models import AuditEntry, Dispute, Feedback, User
from tests.channels.mystery_shopper.visits import (
    DUE,
    GOOD_ANSWERS,
    VISIT_FROM,
    VISIT_UNTIL,
    proof,
    send_shoppers,
)
from tests.fixtures.appraisal import GUIDELINE

POOR, PERFECT = {"Q1": "0", "Q2": 1}, {"Q1": "1", "Q2": 5}
ANN_SCORE, DAN_SCORE = 100 * 0.4 * 2 / 3, 100 * (0.6 + 0.4 * 2 / 3)
#: The worked example's guideline with the mystery score as a third metric.
METRICS = [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 30},
           {"rule": "mystery_score", "weight": 20}]


@pytest.fixture
def visits(worked_example):
    """Two approved reports about Ann and two about Dan, and a guideline counting the mystery score.

    :return: {"ann": [report id, report id], "dan": [...]}.
    """
    sent = send_shoppers(worked_example)
    reports = {"ann": [], "dan": []}
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        for shopper, employee, answers in (("sam", "ann", POOR), ("olga", "dan", PERFECT)):
            for visit in range(2):
                assignment_id = sent.assignments[shopper] if visit == 0 else create_assignment(
                    session, hr, template_id=sent.template_id, shopper_id=sent.shoppers[shopper],
                    employee_id=worked_example.ids[employee], scenario="Ask about a savings account again.",
                    due_at=DUE, visit_from=VISIT_FROM, visit_until=VISIT_UNTIL).id
                shopper_user = session.get(User, sent.shoppers[shopper])
                report = submit_report(session, assignment_id, shopper_user, GOOD_ANSWERS | answers, proof())
                approve_report(session, report.id, hr)
                reports[employee].append(report.id)
        publish_guideline(session, GUIDELINE | {"metrics": METRICS}, actor=hr, note="mystery score counts")
    return reports


def _items(session, report_id: int) -> dict[str, Feedback]:
    """The report's feedback items by external id: the report item and one per section."""
    prefix = f"report-{report_id}"
    items = session.scalars(select(Feedback).where(Feedback.channel == "mystery_shopper",
                                                   Feedback.external_id.startswith(prefix))).all()
    return {item.external_id: item for item in items
            if item.external_id == prefix or item.external_id.startswith(f"{prefix}:")}


def _credit(report_id: int) -> dict[str, tuple[int | None, str]]:
    with transaction() as session:
        return {external_id: (item.employee_id, item.status) for external_id, item in _items(session, report_id).items()}


def _dispute(example, report_id: int, section: str | None = None, reason="Bob served me that day, not Ann"):
    """Ann disputes the report's item (or one section's); return the dispute's id."""
    with transaction() as session:
        external_id = f"report-{report_id}" + (f":{section}" if section else "")
        item = _items(session, report_id)[external_id]
        return raise_dispute(session, item.id, session.get(User, example.users["ann"]), reason).id


def _decide(example, dispute_id: int, **decision) -> None:
    """Mia, who leads Ann's team, decides."""
    with transaction() as session:
        decide_dispute(session, dispute_id, session.get(User, example.manager), **decision)


def _mystery_scores(run_id: int) -> dict[int, tuple[int, float | None]]:
    """Each employee's mystery score in the run, as (n, value)."""
    with transaction() as session:
        return {employee_id: (n, value) for employee_id, n, value in session.execute(
            select(MetricResult.employee_id, MetricResult.n, MetricResult.value)
            .where(MetricResult.run_id == run_id, MetricResult.metric == "mystery_score"))}


def _mystery_needs(run_id: int) -> dict[int, list[tuple[str, int]]]:
    """Each employee's mystery-section training needs in the run, as (name, n)."""
    with transaction() as session:
        rows = session.execute(select(AppraisalResult.employee_id, AppraisalResult.training_needs)
                               .where(AppraisalResult.run_id == run_id)).all()
    return {employee_id: [(need["name"], need["n"]) for need in needs if need["area"] == "mystery_section"]
            for employee_id, needs in rows}


def _served_by(report_ids) -> list[int | None]:
    with transaction() as session:
        return [session.get(Report, report_id).served_by for report_id in report_ids]


def test_before_any_dispute_ann_has_the_reports_and_the_need(worked_example, visits):
    run_id = worked_example.run()
    ann, bob, dan = (worked_example.ids[name] for name in ("ann", "bob", "dan"))
    assert _mystery_scores(run_id)[ann] == (2, pytest.approx(ANN_SCORE))
    assert _mystery_scores(run_id)[dan] == (2, pytest.approx(DAN_SCORE))
    assert _mystery_scores(run_id).get(bob, (0, None))[0] == 0
    assert _mystery_needs(run_id)[ann] == [("Service", 2)] and _mystery_needs(run_id)[bob] == []


def test_a_reassignment_credits_every_item_of_the_report_and_its_sections_to_the_new_employee(
        worked_example, visits):
    ann, bob, dan = (worked_example.ids[name] for name in ("ann", "bob", "dan"))
    first, second = visits["ann"]
    assert set(_credit(first).values()) == {(ann, "accepted")} and len(_credit(first)) == 3  # report + 2 sections
    # One dispute from the report's item, the other from a section's: either way, the whole report moves.
    _decide(worked_example, _dispute(worked_example, first), uphold=True, outcome="Bob served that visit",
            reassign_to=bob)
    assert set(_credit(first).values()) == {(bob, "accepted")}
    assert set(_credit(second).values()) == {(ann, "accepted")}  # another visit: not part of the dispute
    assert _served_by([first, second]) == [bob, None]
    _decide(worked_example, _dispute(worked_example, second, "service"), uphold=True,
            outcome="Bob served that visit too", reassign_to=bob)
    assert set(_credit(second).values()) == {(bob, "accepted")} and _served_by([second]) == [bob]

    run_id = worked_example.run()
    scores, needs = _mystery_scores(run_id), _mystery_needs(run_id)
    assert scores[bob] == (2, pytest.approx(ANN_SCORE)) and scores[dan] == (2, pytest.approx(DAN_SCORE))
    assert scores.get(ann, (0, None))[0] == 0
    assert needs[bob] == [("Service", 2)] and needs[ann] == []

    with transaction() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "dispute.upheld")
                               .order_by(AuditEntry.id).limit(1))
        report_item = _items(session, first)[f"report-{first}"]
        section_ids = sorted(item.id for item in _items(session, first).values() if item.id != report_item.id)
        moved = session.scalars(select(AuditEntry).where(AuditEntry.action == "mystery_report.reassigned")
                                .order_by(AuditEntry.id)).all()
    assert entry.before["feedback"]["employee_id"] == ann and entry.after["feedback"]["employee_id"] == bob
    assert [r["id"] for r in entry.after["related"]] == section_ids
    assert {(r["employee_id"], r["attribution_policy"]) for r in entry.after["related"]} == {(bob, "manual")}
    assert {r["employee_id"] for r in entry.before["related"]} == {ann}
    assert [(a.entity_id, a.before, a.after) for a in moved] == [
        (str(first), {"served_by": None}, {"served_by": bob}), (str(second), {"served_by": None}, {"served_by": bob})]


def test_an_exclusion_excludes_every_item_of_the_report(worked_example, visits):
    ann, bob = worked_example.ids["ann"], worked_example.ids["bob"]
    first, second = visits["ann"]
    _decide(worked_example, _dispute(worked_example, first, "product", "The shopper never met me"),
            uphold=True, outcome="Not a visit to you: excluded")
    assert set(_credit(first).values()) == {(ann, "excluded")}
    assert set(_credit(second).values()) == {(ann, "accepted")}
    assert _served_by([first, second]) == [None, None]  # nobody else served: the report is just left out

    run_id = worked_example.run()
    assert _mystery_scores(run_id)[ann] == (1, pytest.approx(ANN_SCORE))
    # One report left is below the guideline's min_n of 2: no need, and none moved to anyone.
    assert _mystery_needs(run_id)[ann] == [] and _mystery_needs(run_id)[bob] == []


def test_a_rejected_dispute_changes_nothing(worked_example, visits):
    ann = worked_example.ids["ann"]
    first = visits["ann"][0]
    before = _credit(first)
    _decide(worked_example, _dispute(worked_example, first), uphold=False, outcome="The receipt names you")
    assert _credit(first) == before and set(before.values()) == {(ann, "accepted")}
    assert _served_by([first]) == [None]
    with transaction() as session:
        assert not session.scalars(select(AuditEntry).where(AuditEntry.action == "mystery_report.reassigned")).all()
    run_id = worked_example.run()
    assert _mystery_scores(run_id)[ann] == (2, pytest.approx(ANN_SCORE))
    assert _mystery_needs(run_id)[ann] == [("Service", 2)]


def test_one_open_dispute_per_report(worked_example, visits):
    first, second = visits["ann"]
    dispute_id = _dispute(worked_example, first)
    for section in ("service", "product"):
        with pytest.raises(DecisionError, match="already has an open dispute"):
            _dispute(worked_example, first, section)
    with pytest.raises(DecisionError, match=f"feedback {_report_item_id(first)} already has an open dispute"):
        _dispute(worked_example, first)
    _dispute(worked_example, second, "service")  # another report is another visit
    _decide(worked_example, dispute_id, uphold=False, outcome="It stands")
    _dispute(worked_example, first, "product")  # decided: the report may be disputed again
    with transaction() as session:
        assert session.scalar(select(Dispute.status).where(Dispute.id == dispute_id)) == "rejected"


def test_a_manager_cannot_move_a_report_whose_items_are_credited_to_someone_outside_their_teams(
        worked_example, visits):
    # Dan (Billing, which Mia does not lead) holds one section of Ann's report, as if moved there earlier.
    first = visits["ann"][0]
    with transaction() as session:
        _items(session, first)[f"report-{first}:product"].employee_id = worked_example.ids["dan"]
    dispute_id = _dispute(worked_example, first)
    with pytest.raises(PermissionError, match="ask HR"):
        _decide(worked_example, dispute_id, uphold=True, outcome="Bob's", reassign_to=worked_example.ids["bob"])
    assert {credit[0] for credit in _credit(first).values()} == {worked_example.ids["ann"], worked_example.ids["dan"]}


def _report_item_id(report_id: int) -> int:
    with transaction() as session:
        return _items(session, report_id)[f"report-{report_id}"].id
