"""social_sentiment and social_reply_time: worked out by hand, through a real appraisal run, on both databases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from appraisal.aggregates import MetricSpec, metric_aggregates
from appraisal.guidelines import publish_guideline
from appraisal.lineage import metric_lineage
from appraisal.models import MetricResult
from core.db import transaction
from core.models import Feedback
from tests.fixtures.appraisal import GUIDELINE, WEEK

SOCIAL_GUIDELINE = GUIDELINE | {"min_sample": 2, "metrics": [
    {"rule": "social_sentiment", "weight": 50},
    {"rule": "social_reply_time", "weight": 50, "bounds": {"min": 0, "max": 60}},
]}


def _social(session, ids, who, kind, values):
    for offset, value in enumerate(values):
        session.add(Feedback(
            channel="social_monitoring", kind=kind, external_id=f"feed:{who}-{kind}-{offset}", value=value,
            scale_min=-1.0 if kind == "social_mention" else None, scale_max=1.0 if kind == "social_mention" else None,
            employee_id=ids.get(who), attribution_policy="author" if who else None,
            occurred_at=WEEK.start + timedelta(days=offset % 5, hours=11), payload={}))


@pytest.fixture
def social_run(worked_example):
    ids = worked_example.ids
    with transaction() as session:
        _social(session, ids, "ann", "social_mention", [0.5, -0.25, 1.0])
        _social(session, ids, "ann", "social_reply", [4.0, 10.0, 30.0])
        _social(session, ids, "bob", "social_mention", [-1.0, 0.0])
        _social(session, ids, "bob", "social_reply", [2.0, 8.0, None])  # None: the post it answers is not stored
        _social(session, ids, None, "social_mention", [-1.0])           # nobody's: counts for no one
        publish_guideline(session, SOCIAL_GUIDELINE, note="social")
    run_id = worked_example.run(version=2)
    return run_id, ids


def _results(session, run_id):
    return {(r.employee_id, r.metric): r for r in session.scalars(select(MetricResult).where(MetricResult.run_id == run_id))}


def test_sentiment_and_reply_time_of_a_run(session, social_run):
    run_id, ids = social_run
    results = _results(session, run_id)
    ann, bob = ids["ann"], ids["bob"]
    # Sentiment x 100: Ann (50 - 25 + 100) / 3, Bob (-100 + 0) / 2.
    assert (results[ann, "social_sentiment"].n, results[ann, "social_sentiment"].value) == (3, pytest.approx(125 / 3))
    assert (results[bob, "social_sentiment"].n, results[bob, "social_sentiment"].value) == (2, -50.0)
    # Mean minutes: Ann (4 + 10 + 30) / 3; Bob (2 + 8) / 2, his reply without a post counts in no n.
    assert (results[ann, "social_reply_time"].n, results[ann, "social_reply_time"].value) == (3, pytest.approx(44 / 3))
    assert (results[bob, "social_reply_time"].n, results[bob, "social_reply_time"].value) == (2, 5.0)
    # Lower is better. Support's mean is (4 + 10 + 30 + 2 + 8) / 5 = 10.8; with k = 2 Ann's shrinks to
    # (3 x 44/3 + 2 x 10.8) / 5 = 13.12, which on bounds 0..60 normalises to 100 - 13.12 / 60 x 100.
    ann_time = results[ann, "social_reply_time"]
    assert ann_time.team_mean == pytest.approx(10.8) and ann_time.shrunk == pytest.approx(13.12)
    assert ann_time.normalised == pytest.approx(100 - 13.12 / 60 * 100)
    # Support's sentiment pools all five posts of Ann and Bob.
    assert results[bob, "social_sentiment"].team_mean == pytest.approx((50 - 25 + 100 - 100 + 0) / 5)


def test_a_cap_counts_a_slow_reply_as_the_cap(app, session, social_run):
    _, ids = social_run
    rule = app.extensions["plaudit.plugins"].scoring_rules["social_reply_time"]
    aggregates, _ = metric_aggregates(session, [MetricSpec("social_reply_time", rule, {"cap_minutes": 20})],
                                      WEEK.start, WEEK.end)
    assert aggregates[ids["ann"]]["social_reply_time"].mean == pytest.approx((4 + 10 + 20) / 3)  # 30 counts as 20
    assert aggregates[ids["bob"]]["social_reply_time"].mean == 5.0
    assert rule.value_bounds({"cap_minutes": 20}) == (0.0, 20) and rule.value_bounds({}) is None


def test_lineage_says_how_reply_time_was_computed(session, social_run):
    run_id, ids = social_run
    lineage = metric_lineage(session, run_id, ids["bob"], "social_reply_time")
    assert lineage["formula"]["direction"] == "lower" and lineage["formula"]["kinds"] == ["social_reply"]
    assert lineage["formula"]["bounds"] == [0, 60]  # the guideline's, in the shape of the rule's own (below)
    assert [item["points"] for item in lineage["items"]] == [2.0, 8.0]
    sentiment = metric_lineage(session, run_id, ids["ann"], "social_sentiment")
    assert sentiment["formula"]["bounds"] == [-100.0, 100.0]
    assert sorted(item["points"] for item in sentiment["items"]) == [-25.0, 50.0, 100.0]


def test_reply_time_needs_bounds_or_a_cap(session, worked_example):
    without = GUIDELINE | {"metrics": [{"rule": "social_reply_time", "weight": 100}]}
    with pytest.raises(ValidationError, match="social_reply_time has no natural bounds"):
        publish_guideline(session, without)
    session.rollback()
    capped = GUIDELINE | {"metrics": [{"rule": "social_reply_time", "weight": 100, "params": {"cap_minutes": 30}}]}
    assert publish_guideline(session, capped).version == 2
