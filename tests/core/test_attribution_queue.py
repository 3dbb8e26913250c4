"""The unattributed queue's decisions: credit an item to someone, or keep it for the organisation; audited."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from appraisal.guideline_schema import validate_guideline
from appraisal.models import AppraisalRun
from appraisal.results import run_rows
from core.attribution import ATTRIBUTION_BASES
from core.attribution_queue import (
    CONFIRMED,
    MANUAL,
    ORGANISATION_ONLY,
    AttributionError,
    attribute_item,
    awaiting_attribution,
    confirm_proposal,
    keep_for_organisation,
    reject_proposal,
)
from core.db import transaction
from core.models import AuditEntry, Employee, Feedback, User
from core.plugins import get_plugins
from tests.fixtures.appraisal import GUIDELINE


def _waiting(session) -> list[int]:
    return list(session.scalars(select(Feedback.id).where(awaiting_attribution()).order_by(Feedback.id)))


def _audits(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_a_manager_credits_a_queued_item_to_one_of_their_people(worked_example):
    with transaction() as session:
        [item_id] = _waiting(session)  # the worked example's one item nobody was named for
        mia = session.get(User, worked_example.manager)
        item = attribute_item(session, item_id, mia, worked_example.ids["ann"], note="Ann took that call")
        support = session.get(Employee, worked_example.ids["ann"]).team_id
        assert (item.employee_id, item.team_id, item.attribution_policy, item.status) == (
            worked_example.ids["ann"], support, MANUAL, "accepted")
    with transaction() as session:
        assert _waiting(session) == []
        [entry] = _audits(session, "feedback.attributed")
        assert (entry.actor_id, entry.entity_type, entry.entity_id, entry.note) == (
            worked_example.manager, "feedback", str(item_id), "Ann took that call")
        assert entry.before == {"employee_id": None, "team_id": None, "attribution_policy": None,
                                "proposed_employee_id": None, "status": "accepted"}
        assert entry.after == {"employee_id": worked_example.ids["ann"], "team_id": support,
                               "attribution_policy": "manual", "proposed_employee_id": None, "status": "accepted"}


def test_an_item_kept_for_the_organisation_leaves_the_queue_and_counts_for_nobody(worked_example):
    with transaction() as session:
        [item_id] = _waiting(session)
        hr = session.get(User, worked_example.hr)
        item = keep_for_organisation(session, item_id, hr)
        assert (item.employee_id, item.team_id, item.attribution_policy) == (None, None, ORGANISATION_ONLY)
    with transaction() as session:
        assert _waiting(session) == []
        [entry] = _audits(session, "feedback.kept_for_organisation")
        assert entry.actor_id == worked_example.hr
        assert (entry.before["attribution_policy"], entry.after["attribution_policy"]) == (None, "org_only")
    rows = _rows(worked_example.run())
    # still in the organisation's CSAT as before: 3+4+2+3 satisfied of 4+6+2+5+1 = 12/18
    assert rows["Dan"]["metrics"]["csat_percent"]["org_mean"] == pytest.approx(200 / 3)
    assert rows["Ann"]["metrics"]["csat_percent"]["n"] == 4


def test_an_attributed_item_counts_for_its_employee_in_the_next_run(worked_example):
    with transaction() as session:
        [item_id] = _waiting(session)
        attribute_item(session, item_id, session.get(User, worked_example.hr), worked_example.ids["ann"])
    ann = _rows(worked_example.run())["Ann"]["metrics"]["csat_percent"]
    # her 5 5 4 3 and now the 1: 3 satisfied of 5
    assert (ann["n"], ann["value"]) == (5, pytest.approx(60))
    assert ann["org_mean"] == pytest.approx(200 / 3)  # the organisation counted it already


def test_refusals_change_nothing(worked_example):
    ids = worked_example.ids
    with transaction() as session:
        [item_id] = _waiting(session)
        mia, hr = session.get(User, worked_example.manager), session.get(User, worked_example.hr)
        ann_account = session.scalar(select(User).where(User.employee_id == ids["ann"]))
        with pytest.raises(PermissionError):
            attribute_item(session, item_id, mia, ids["dan"])  # Billing is not Mia's
        mia_employee = mia.employee_id
        with pytest.raises(PermissionError):
            attribute_item(session, item_id, mia, mia_employee)  # nobody credits themselves
        with pytest.raises(PermissionError):
            keep_for_organisation(session, item_id, ann_account)  # employees do not decide the queue
        with pytest.raises(PermissionError):
            keep_for_organisation(session, item_id, mia)  # it might be another team's: HR decides
        with pytest.raises(LookupError):
            attribute_item(session, 999_999, hr, ids["ann"])
        with pytest.raises(AttributionError) as caught:
            attribute_item(session, item_id, hr, 999_999)
        assert caught.value.field == "employee"
        session.get(Employee, ids["bob"]).active = False
        session.flush()
        with pytest.raises(AttributionError) as caught:
            attribute_item(session, item_id, hr, ids["bob"])
        assert caught.value.field == "employee" and "no active employee" in caught.value.message
        session.rollback()
    with transaction() as session:
        assert _waiting(session) == [item_id]
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("feedback.%"))) == 0


def test_an_item_is_decided_once(worked_example):
    with transaction() as session:
        [item_id] = _waiting(session)
        keep_for_organisation(session, item_id, session.get(User, worked_example.hr))
    with transaction() as session:
        mia = session.get(User, worked_example.manager)
        with pytest.raises(AttributionError) as caught:
            attribute_item(session, item_id, mia, worked_example.ids["ann"])
        assert caught.value.field == "feedback" and "kept for the organisation only" in caught.value.message
        hr = session.get(User, worked_example.hr)
        with pytest.raises(AttributionError):
            keep_for_organisation(session, item_id, hr)
        # items the pipeline attributed never were in the queue
        attributed = session.scalar(select(Feedback.id).where(Feedback.employee_id == worked_example.ids["bob"])
                                    .limit(1))
        with pytest.raises(AttributionError) as caught:
            keep_for_organisation(session, attributed, hr)
        assert f"attributed to employee {worked_example.ids['bob']}" in caught.value.message


def test_decisions_are_not_bases_a_guideline_can_choose(app_context):
    assert not {MANUAL, CONFIRMED, ORGANISATION_ONLY} & set(ATTRIBUTION_BASES)
    for decision in (MANUAL, CONFIRMED, ORGANISATION_ONLY):
        with pytest.raises(ValidationError) as caught:
            validate_guideline({**GUIDELINE, "attribution_policy": [decision]}, get_plugins())
        assert "attribution_policy" in caught.value.messages


# Proposals: a channel's suggestion, confirmed or rejected by a person.

def _propose(session, item_id: int, employee_id: int) -> None:
    session.get(Feedback, item_id).proposed_employee_id = employee_id
    session.flush()


def test_confirming_a_proposal_credits_the_proposed_employee(worked_example):
    ann = worked_example.ids["ann"]
    with transaction() as session:
        [item_id] = _waiting(session)
        _propose(session, item_id, ann)
        item = confirm_proposal(session, item_id, session.get(User, worked_example.manager), note="her thread")
        support = session.get(Employee, ann).team_id
        assert (item.employee_id, item.team_id, item.attribution_policy) == (ann, support, CONFIRMED)
    with transaction() as session:
        assert _waiting(session) == []
        [entry] = _audits(session, "feedback.proposal_confirmed")
        assert (entry.actor_id, entry.entity_id, entry.note) == (worked_example.manager, str(item_id), "her thread")
        assert entry.before == {"employee_id": None, "team_id": None, "attribution_policy": None,
                                "proposed_employee_id": ann, "status": "accepted"}
        assert entry.after == {"employee_id": ann, "team_id": support, "attribution_policy": "confirmed",
                               "proposed_employee_id": ann, "status": "accepted"}
    ann_csat = _rows(worked_example.run())["Ann"]["metrics"]["csat_percent"]
    assert (ann_csat["n"], ann_csat["value"]) == (5, pytest.approx(60))


def test_a_rejected_proposal_counts_for_the_organisation_only(worked_example):
    ann = worked_example.ids["ann"]
    with transaction() as session:
        [item_id] = _waiting(session)
        _propose(session, item_id, ann)
        item = reject_proposal(session, item_id, session.get(User, worked_example.manager))
        # the proposal stays on the row as the record of what was refused
        assert (item.employee_id, item.attribution_policy, item.proposed_employee_id) == (
            None, ORGANISATION_ONLY, ann)
    with transaction() as session:
        assert _waiting(session) == []
        [entry] = _audits(session, "feedback.proposal_rejected")
        assert entry.actor_id == worked_example.manager
        assert (entry.before["attribution_policy"], entry.after["attribution_policy"]) == (None, "org_only")
        assert entry.before["proposed_employee_id"] == entry.after["proposed_employee_id"] == ann
    rows = _rows(worked_example.run())
    assert rows["Ann"]["metrics"]["csat_percent"]["n"] == 4
    assert rows["Dan"]["metrics"]["csat_percent"]["org_mean"] == pytest.approx(200 / 3)


def test_proposal_refusals_change_nothing(worked_example):
    ids = worked_example.ids
    with transaction() as session:
        [item_id] = _waiting(session)
        mia, hr = session.get(User, worked_example.manager), session.get(User, worked_example.hr)
        ann_account = session.scalar(select(User).where(User.employee_id == ids["ann"]))
        for decide in (confirm_proposal, reject_proposal):  # nothing proposed yet
            with pytest.raises(AttributionError) as caught:
                decide(session, item_id, hr)
            assert caught.value.field == "proposed_employee" and "no proposal" in caught.value.message
        _propose(session, item_id, ids["dan"])
        for decide in (confirm_proposal, reject_proposal):
            with pytest.raises(PermissionError):
                decide(session, item_id, mia)  # Billing is not Mia's
        # Nor may she give Dan's proposed praise to one of her own people instead: that is HR's to decide.
        with pytest.raises(PermissionError, match="proposed for someone outside your teams: HR decides it"):
            attribute_item(session, item_id, mia, ids["ann"])
        _propose(session, item_id, mia.employee_id)
        for decide in (confirm_proposal, reject_proposal):
            with pytest.raises(PermissionError):
                decide(session, item_id, mia)  # nobody decides about themselves
        _propose(session, item_id, ids["ann"])
        for decide in (confirm_proposal, reject_proposal):
            with pytest.raises(PermissionError):
                decide(session, item_id, ann_account)  # employees do not decide the queue
            with pytest.raises(LookupError):
                decide(session, 999_999, hr)
        session.get(Employee, ids["ann"]).active = False
        session.flush()
        with pytest.raises(AttributionError) as caught:
            confirm_proposal(session, item_id, hr)
        assert caught.value.field == "proposed_employee" and "no longer an active employee" in caught.value.message
        session.rollback()
    with transaction() as session:
        assert _waiting(session) == [item_id]
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("feedback.%"))) == 0


def test_a_proposal_is_decided_once(worked_example):
    with transaction() as session:
        [item_id] = _waiting(session)
        _propose(session, item_id, worked_example.ids["ann"])
        confirm_proposal(session, item_id, session.get(User, worked_example.hr))
    with transaction() as session:
        mia = session.get(User, worked_example.manager)
        with pytest.raises(AttributionError) as caught:
            reject_proposal(session, item_id, mia)
        assert caught.value.field == "feedback"
        assert f"attributed to employee {worked_example.ids['ann']}" in caught.value.message


def _rows(run_id: int) -> dict:
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert run.status == "completed", run.error
        return {row["employee"]: row for row in run_rows(session, run)}
