"""Guidelines: validated with field-named errors, versioned, audited, never a sanction; they set the policy."""
from __future__ import annotations

import copy

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from appraisal.guidelines import (
    guideline_diff,
    guideline_history,
    guideline_in_force,
    publish_guideline,
)
from core.cli.messages import flatten_errors
from core.db import transaction
from core.models import AuditEntry
from core.policy import ingestion_policy
from tests.fixtures.appraisal import GUIDELINE


def _errors(app, document):
    with app.app_context(), transaction() as session:
        with pytest.raises(ValidationError) as caught:
            publish_guideline(session, document)
        session.rollback()
    return flatten_errors(caught.value.messages)


def _with(change):
    document = copy.deepcopy(GUIDELINE)
    change(document)
    return document


@pytest.mark.parametrize("sanction", ["termination", "Dismissal", "written warning", "pay-cut", "demotion"])
def test_no_guideline_may_recommend_a_sanction(app, sanction):
    document = _with(lambda d: d["incentives"]["tiers"][2]["gives"].append({"kind": sanction}))
    [message] = _errors(app, document)
    assert message.startswith("incentives.tiers.2.gives.1.kind:")
    assert "sanction" in message and "coaching plan at most" in message


@pytest.mark.parametrize("change, field", [
    (lambda d: d["metrics"][0].update(weight=50), "metrics: weights must sum to 100; these sum to 90"),
    (lambda d: d["metrics"][0].update(rule="csat_percentage"), "metrics.0.rule: unknown scoring rule"),
    # A metric that fails to load lacks the failed key: the check of all weights must not trip over it.
    (lambda d: d["metrics"][1].update(weight="abc"), "metrics.1.weight: Not a valid number"),
    (lambda d: d["metrics"][0].update(rule=5), "metrics.0.rule: Not a valid string"),
    (lambda d: d["metrics"].append("nps"), "metrics.2: Invalid input type"),
    (lambda d: d["incentives"]["tiers"][0].update(name=""), "incentives.tiers.0.name: Length must be between 1 and 100"),
    (lambda d: d["incentives"]["tiers"][1].pop("name"), "incentives.tiers.1.name: Missing data"),
    # a repeated rule is named even while another metric's weight is wrong
    (lambda d: d["metrics"].append({"rule": "nps", "weight": "x"}), "metrics: each rule may appear once"),
    (lambda d: d["metrics"][1].update(params={"top_box": 9}), "metrics.1.params"),
    (lambda d: d["metrics"][0].update(params={"top_box": 9}), "metrics.0.params.top_box"),
    (lambda d: d.update(comment_visibility="everything"), "comment_visibility: Must be one of"),
    (lambda d: d["incentives"]["tiers"][0]["gives"][0].update(amount=-50), "incentives.tiers.0.gives.0.amount"),
    (lambda d: d["incentives"]["budget"].update(allocation="lottery"), "incentives.budget.allocation"),
    (lambda d: d.update(attribution_policy=["assignee_at_lunch"]), "attribution_policy.0"),
    (lambda d: d.update(integrity={"no_such_check": {}}), "integrity.no_such_check: unknown integrity check"),
    (lambda d: d["incentives"]["tiers"][1]["gives"].append({"kind": "recognition", "amount": 5}),
     "incentives.tiers.1.gives.1.amount: only a bonus has an amount"),
    # Values past any policy: 1e308 made every shrunk metric infinite (composites of 100, JSON with Infinity)
    (lambda d: d.update(shrinkage_strength=1e308), "shrinkage_strength: give a number from 0 to 1,000"),
    (lambda d: d.update(min_sample=10**23), "min_sample: give a whole number from 1 to 100,000"),
    (lambda d: d["incentives"]["tiers"][0]["conditions"].update(min_composite=1e9),
     "incentives.tiers.0.conditions.min_composite: a composite runs from 0 to 100"),
    (lambda d: d["incentives"]["tiers"][0]["conditions"].update(min_composite=90, max_composite=10),
     "incentives.tiers.0.conditions.min_composite: nobody can meet this: at least 90 and at most 10"),
    (lambda d: d["incentives"]["tiers"][0]["conditions"].update(min_percentile=80, max_percentile=20),
     "incentives.tiers.0.conditions.min_percentile: nobody can meet this"),
    (lambda d: d.update(attainment={"far_below": 1e12, "exceeded": 5}),
     "attainment.far_below: give a gap from 0 to 1,000,000"),
    (lambda d: d["incentives"]["tiers"][0]["gives"][0].update(amount=1e300),
     "incentives.tiers.0.gives.0.amount: give an amount from 0 to 1,000,000,000"),
    # A cap of 100.005 was shown as 100.00 and spent as 100.005
    (lambda d: d["incentives"]["budget"].update(cap=100.005), "incentives.budget.cap: give at most two decimal"),
    (lambda d: d["incentives"]["budget"].update(currency="€€€"), "incentives.budget.currency: give a currency's"),
    (lambda d: d["incentives"]["budget"].update(currency="eur"), "incentives.budget.currency: give a currency's"),
])
def test_errors_name_the_field(app, change, field):
    messages = _errors(app, _with(change))
    assert any(m.startswith(field) for m in messages), messages


def test_every_edit_is_a_new_audited_version(app):
    with app.app_context(), transaction() as session:
        first = publish_guideline(session, GUIDELINE, note="first")
        second = publish_guideline(session, _with(lambda d: d.update(min_sample=8)), note="more answers")
    with app.app_context(), transaction() as session:
        assert [g.version for g in guideline_history(session)] == [1, 2]
        assert session.get(type(first), first.id).document["min_sample"] == 4  # the old version is intact
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "guideline.published")
                                 .order_by(AuditEntry.id)).all()
        assert [(a.entity_id, a.note) for a in audits] == [(str(first.id), "first"), (str(second.id), "more answers")]
        assert audits[1].before["min_sample"] == 4 and audits[1].after["min_sample"] == 8
        assert guideline_diff(audits[1].before, audits[1].after) == [("min_sample", 4, 8)]


def test_a_diff_names_metrics_by_rule_not_position():
    reordered = _with(lambda d: d["metrics"].reverse())
    assert guideline_diff(GUIDELINE, reordered) == []
    reweighed = _with(lambda d: (d["metrics"][0].update(weight=50), d["metrics"][1].update(weight=50)))
    assert guideline_diff(GUIDELINE, reweighed) == [("metrics[csat_percent].weight", 60, 50),
                                                     ("metrics[nps].weight", 40, 50)]


def test_a_diff_of_removing_every_tier_lists_the_tiers_not_an_empty_list():
    untiered = _with(lambda d: d["incentives"].update(tiers=[]))
    for changes in (guideline_diff(GUIDELINE, untiered), guideline_diff(untiered, GUIDELINE)):
        assert changes and all(path.startswith("incentives.tiers") for path, _, _ in changes)
        assert [path for path, before, after in changes if [] in (before, after)] == [], changes


def test_the_default_guideline_is_published_on_first_use(app):
    with app.app_context(), transaction() as session:
        guideline = guideline_in_force(session)
        assert guideline.version == 1 and guideline.note == "the default guideline"
        assert sum(m["weight"] for m in guideline.document["metrics"]) == pytest.approx(100)
        assert guideline_in_force(session).id == guideline.id


def test_the_guideline_sets_the_attribution_policy_and_the_checks(make_app):
    app = make_app(ATTRIBUTION_POLICY=["assignee_at_solve", "assignee_at_rating"])
    with app.app_context(), transaction() as session:
        assert ingestion_policy(session).attribution == ("assignee_at_solve", "assignee_at_rating")
        publish_guideline(session, _with(lambda d: d.update(attribution_policy=["assignee_at_rating"])))
        assert ingestion_policy(session).attribution == ("assignee_at_rating",)
        checks = app.extensions["plaudit.plugins"].integrity_checks
        if checks:
            slug = min(checks)
            publish_guideline(session, _with(lambda d: d.update(integrity={slug: {"enabled": False}})))
            assert slug not in ingestion_policy(session).checks
