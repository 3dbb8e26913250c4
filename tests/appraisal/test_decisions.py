"""Targets within HR's bounds and the manager's teams; flags, disputes and recommendations decided and audited."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from appraisal.periods import month_of, quarter_of
from appraisal.review import (
    DecisionError,
    decide_dispute,
    decide_flag,
    decide_recommendation,
    raise_dispute,
)
from appraisal.targets import TargetError, set_target
from core.db import transaction
from core.models import (
    AuditEntry,
    Dispute,
    Employee,
    Feedback,
    Flag,
    Team,
    User,
    utcnow,
)
from tests.fixtures.appraisal import WEEK


def _users(session, example):
    hr, manager = session.get(User, example.hr), session.get(User, example.manager)
    return hr, manager


def _employee_user(session, employee_id, _email):
    """The employee's own account, which the worked example creates."""
    return session.scalar(select(User).where(User.employee_id == employee_id))


def test_managers_set_targets_only_for_their_teams_and_within_bounds(worked_example):
    november = month_of(WEEK.start.date())
    with transaction() as session:
        hr, manager = _users(session, worked_example)
        document = {"metrics": [{"rule": "csat_percent", "weight": 100, "target_bounds": {"min": 50, "max": 95}}]}
        from appraisal.guidelines import publish_guideline

        publish_guideline(session, document, actor=hr)
        ann, dan = session.get(Employee, worked_example.ids["ann"]), session.get(Employee, worked_example.ids["dan"])
        with pytest.raises(TargetError) as caught:
            set_target(session, manager, metric="csat_percent", period=november, value=99, employee=ann)
        assert caught.value.field == "value" and "50 to 95" in caught.value.message
        with pytest.raises(TargetError) as caught:
            set_target(session, manager, metric="nps", period=november, value=10, employee=ann)
        assert caught.value.field == "metric"
        with pytest.raises(PermissionError):  # Dan is in Billing, which Mia does not lead
            set_target(session, manager, metric="csat_percent", period=november, value=70, employee=dan)
        billing = session.scalar(select(Team).where(Team.slug == "billing"))
        with pytest.raises(PermissionError):
            set_target(session, manager, metric="csat_percent", period=november, value=70, team=billing)
        employee = _employee_user(session, ann.id, "ann-user@example.com")
        with pytest.raises(PermissionError):
            set_target(session, employee, metric="csat_percent", period=november, value=70, employee=ann)
        target = set_target(session, manager, metric="csat_percent", period=november, value=90, employee=ann)
        again = set_target(session, manager, metric="csat_percent", period=november, value=85, employee=ann)
        assert again.id == target.id and again.value == 85
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "target.set",
                                                          AuditEntry.entity_id == str(target.id))
                                 .order_by(AuditEntry.id)).all()
        # HR had set Ann's November target to 80 (conftest); the manager changed it twice.
        assert [(a.before, a.after["value"]) for a in audits] == [
            (None, 80), ({"value": 80, "set_by": hr.id}, 90), ({"value": 90, "set_by": manager.id}, 85)]


def test_a_duration_target_below_zero_is_refused(worked_example):
    """-5 minutes of social reply time was accepted: a duration has no upper bound, so nothing was checked."""
    from appraisal.guidelines import publish_guideline

    november = month_of(WEEK.start.date())
    with transaction() as session:
        hr, manager = _users(session, worked_example)
        publish_guideline(session, {"metrics": [
            {"rule": "csat_percent", "weight": 50},
            {"rule": "social_reply_time", "weight": 50, "bounds": {"min": 0, "max": 600}}]}, actor=hr)
        ann = session.get(Employee, worked_example.ids["ann"])
        with pytest.raises(TargetError) as caught:
            set_target(session, manager, metric="social_reply_time", period=november, value=-5, employee=ann)
        assert (caught.value.field, caught.value.message) == ("value",
                                                             "Social reply time (minutes) cannot be below 0")
        assert set_target(session, manager, metric="social_reply_time", period=november, value=900,
                          employee=ann).value == 900  # slower than the bounds' 600 is a target it can take


def test_a_team_target_does_not_apply_to_whoever_set_it(worked_example):
    """Mia works in Support, which she leads: its target applies to Ann, not to Mia, who set it (she could lower
    her own target, and her attainment streak feeds the incentives)."""
    from appraisal.engine import Person
    from appraisal.targets import targets_in_force

    november = month_of(WEEK.start.date())
    with transaction() as session:
        hr, manager = _users(session, worked_example)
        ann = session.get(Employee, worked_example.ids["ann"])
        mia = session.get(Employee, manager.employee_id)
        mia.team_id = ann.team_id
        support = session.get(Team, ann.team_id)
        target = set_target(session, manager, metric="nps", period=november, value=10, team=support)
        people = [Person(ann.id, ann.team_id), Person(mia.id, mia.team_id)]
        found = targets_in_force(session, ["nps"], november, people)
        assert found[ann.id]["nps"] == (target.id, 10)
        assert "nps" not in found.get(mia.id, {})
        # HR's quarter target for Support set before hers still applies to Mia: hers gives way to it, not to
        # nothing (which would end her attainment streak)
        quarter = quarter_of(WEEK.start.date())
        hr_target = set_target(session, hr, metric="nps", period=quarter, value=20, team=support)
        session.flush()
        target.value = 12  # Mia changes hers: the latest again
        target.updated_at = utcnow() + timedelta(seconds=1)
        session.flush()
        found = targets_in_force(session, ["nps"], november, people)
        assert found[mia.id]["nps"] == (hr_target.id, 20)
        assert found[ann.id]["nps"] == (target.id, 12)  # among a team's targets, the one changed last


def _item_of(session, employee_id):
    return session.scalar(select(Feedback).where(Feedback.employee_id == employee_id, Feedback.kind == "csat")
                          .order_by(Feedback.id).limit(1))


def test_hr_decides_flags_and_the_item_counts_only_if_dismissed(worked_example):
    with transaction() as session:
        hr, manager = _users(session, worked_example)
        first, second = _item_of(session, worked_example.ids["ann"]), _item_of(session, worked_example.ids["bob"])
        for item in (first, second):
            item.status = "quarantined"
            session.add(Flag(feedback_id=item.id, check="self_rating", reason="rated themselves"))
        session.flush()
        flags = session.scalars(select(Flag).order_by(Flag.id)).all()
        with pytest.raises(PermissionError):
            decide_flag(session, flags[0].id, manager, uphold=False)
        decide_flag(session, flags[0].id, hr, uphold=False, note="a customer with the same name")
        decide_flag(session, flags[1].id, hr, uphold=True, note="it was Bob")
        with pytest.raises(DecisionError):
            decide_flag(session, flags[1].id, hr, uphold=False)
        assert (first.status, second.status) == ("accepted", "excluded")
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "flags")
                                  .order_by(AuditEntry.id)).all()
        assert actions == ["flag.dismissed", "flag.upheld"]


def test_employees_dispute_their_items_and_managers_decide(worked_example):
    with transaction() as session:
        hr, manager = _users(session, worked_example)
        ann_id, dan_id = worked_example.ids["ann"], worked_example.ids["dan"]
        ann = _employee_user(session, ann_id, "ann-user@example.com")
        dan = _employee_user(session, dan_id, "dan-user@example.com")
        item = _item_of(session, ann_id)
        with pytest.raises(PermissionError):  # not Dan's to dispute
            raise_dispute(session, item.id, dan, "not mine")
        with pytest.raises(DecisionError):
            raise_dispute(session, item.id, ann, "  ")
        dispute = raise_dispute(session, item.id, ann, "this customer was Bob's")
        with pytest.raises(DecisionError):
            raise_dispute(session, item.id, ann, "again")
        with pytest.raises(PermissionError):  # nobody decides their own dispute
            decide_dispute(session, dispute.id, ann, uphold=True, outcome="yes")
        decide_dispute(session, dispute.id, manager, uphold=True, outcome="Moved to Bob",
                       reassign_to=worked_example.ids["bob"])
        assert (item.employee_id, item.attribution_policy, item.status) == (worked_example.ids["bob"], "manual",
                                                                           "accepted")
        other = raise_dispute(session, _item_of(session, ann_id).id, ann, "should not count")
        decide_dispute(session, other.id, hr, uphold=False, outcome="It stands: the answer is about you")
        assert session.get(Dispute, other.id).status == "rejected"
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "disputes")
                                  .order_by(AuditEntry.id)).all()
        assert actions == ["dispute.raised", "dispute.upheld", "dispute.raised", "dispute.rejected"]


def test_an_excluded_item_leaves_the_next_run(worked_example):
    from appraisal.models import AppraisalRun
    from appraisal.results import run_rows

    with transaction() as session:
        hr, _ = _users(session, worked_example)
        ann = _employee_user(session, worked_example.ids["ann"], "ann-user@example.com")
        item = _item_of(session, worked_example.ids["ann"])  # a 5 on a Billing ticket
        dispute = raise_dispute(session, item.id, ann, "a test message, not a customer")
        decide_dispute(session, dispute.id, hr, uphold=True, outcome="excluded")
    run_id = worked_example.run()
    with transaction() as session:
        rows = {r["employee"]: r for r in run_rows(session, session.get(AppraisalRun, run_id))}
    csat = rows["Ann"]["metrics"]["csat_percent"]
    assert (csat["n"], round(csat["value"], 4)) == (3, round(200 / 3, 4))  # 5 4 3 left: 2 of 3


def test_recommendations_are_approved_by_hr_or_the_manager_only(worked_example):
    from appraisal.models import Recommendation

    run_id = worked_example.run()
    with transaction() as session:
        hr, manager = _users(session, worked_example)
        proposed = {r.employee_id: r for r in session.scalars(select(Recommendation).where(
            Recommendation.run_id == run_id, Recommendation.status == "proposed"))}
        ann_bonus, bob_bonus = proposed[worked_example.ids["ann"]], proposed[worked_example.ids["bob"]]
        dan_bonus = session.scalar(select(Recommendation).where(
            Recommendation.run_id == run_id, Recommendation.employee_id == worked_example.ids["dan"],
            Recommendation.kind == "bonus"))
        assert (dan_bonus.status, dan_bonus.decision_note) == ("rejected", "not funded: the budget cap was reached")
        with pytest.raises(PermissionError):  # Dan is not in Mia's teams, and his bonus is HR's to decide
            decide_recommendation(session, dan_bonus.id, manager, approve=True)
        decide_recommendation(session, ann_bonus.id, manager, approve=True, note="well earned")
        decide_recommendation(session, bob_bonus.id, hr, approve=False, note="half a bonus is no bonus")
        with pytest.raises(DecisionError):
            decide_recommendation(session, bob_bonus.id, hr, approve=True)
        assert (ann_bonus.status, bob_bonus.status) == ("approved", "rejected")


def test_nobody_decides_for_themselves(worked_example):
    with transaction() as session:
        hr, manager = _users(session, worked_example)
        hr.employee_id = worked_example.ids["cat"]  # an HR partner who is also appraised
        cat_item = _item_of(session, worked_example.ids["cat"])
        cat_item.status = "quarantined"
        flag = Flag(feedback_id=cat_item.id, check="self_rating", reason="x")
        session.add(flag)
        session.flush()
        with pytest.raises(PermissionError):
            decide_flag(session, flag.id, hr, uphold=False)
        dispute = raise_dispute(session, cat_item.id, hr, "not mine")
        # HR's refusal says why: "only HR or the employee's manager" told an HR partner nothing
        with pytest.raises(PermissionError, match="nobody decides their own dispute: another HR person"):
            decide_dispute(session, dispute.id, hr, uphold=True, outcome="mine to decide?")
        with pytest.raises(PermissionError):  # Mia may decide Cat's dispute, but not take the item herself
            decide_dispute(session, dispute.id, manager, uphold=True, outcome="mine now",
                           reassign_to=manager.employee_id)
        with pytest.raises(PermissionError):  # nor pass it to a team she does not lead
            decide_dispute(session, dispute.id, manager, uphold=True, outcome="Dan's",
                           reassign_to=worked_example.ids["dan"])
        with pytest.raises(PermissionError, match="nobody sets their own targets"):
            set_target(session, hr, metric="csat_percent", period=month_of(WEEK.start.date()), value=50,
                       employee=session.get(Employee, worked_example.ids["cat"]))


def test_a_months_target_judges_the_weeks_inside_it_and_not_one_across_two_months(worked_example):
    """What the targets page tells a manager who sets one for a month."""
    from appraisal.engine import Person
    from appraisal.periods import week_of
    from appraisal.targets import targets_in_force

    with transaction() as session:
        ann = session.get(Employee, worked_example.ids["ann"])
        people = [Person(ann.id, ann.team_id)]
        in_force = {week: targets_in_force(session, ["csat_percent"], week_of(week), people)
                    for week in (date(2026, 11, 2), date(2026, 11, 23), date(2026, 11, 30))}
        month = targets_in_force(session, ["csat_percent"], month_of(date(2026, 11, 1)), people)
    assert in_force[date(2026, 11, 2)][ann.id]["csat_percent"][1] == 80  # the example's November target of hers
    assert in_force[date(2026, 11, 23)][ann.id]["csat_percent"][1] == 80
    assert in_force[date(2026, 11, 30)] == {}  # 30 November to 6 December: neither month's
    assert month[ann.id]["csat_percent"][1] == 80


def test_an_item_a_dispute_took_out_of_the_numbers_is_not_disputed_again(worked_example):
    """A new user disputed an excluded item a second time, and was told it "keeps counting until decided"."""
    with transaction() as session:
        hr, _ = _users(session, worked_example)
        ann = _employee_user(session, worked_example.ids["ann"], "ann-user@example.com")
        item = _item_of(session, worked_example.ids["ann"])
        dispute = raise_dispute(session, item.id, ann, "not a customer of ours")
        decide_dispute(session, dispute.id, hr, uphold=True, outcome="Agreed: spam")
        with pytest.raises(DecisionError, match="no longer counts .it was excluded.: there is nothing to dispute"):
            raise_dispute(session, item.id, ann, "and again")
