"""CSAT, NPS and CES rules, computed in SQL over real rows on both databases."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appraisal.metrics import metric
from core.models import Feedback


@pytest.fixture
def rules(app):
    return app.extensions["plaudit.plugins"].scoring_rules


@pytest.fixture
def add(session):
    counter = iter(range(1, 10_000))

    def add_items(kind, values, scale, employee_id=None):
        for value in values:
            session.add(Feedback(channel="test", kind=kind, external_id=str(next(counter)), value=value,
                                 scale_min=scale[0], scale_max=scale[1], employee_id=employee_id,
                                 occurred_at=datetime(2026, 11, 2, tzinfo=UTC)))
        session.commit()
    return add_items


def _overall(session, rule, **params):
    return metric(session, rule, params, by_employee=False)[None]


def test_kundo_example_41_satisfied_of_50_is_82_percent(session, rules, add):
    add("csat", [5] * 30 + [4] * 11 + [3] * 5 + [2] * 3 + [1], (1, 5))
    result = _overall(session, rules["csat_percent"])
    assert (result.value, result.n) == (82.0, 50)


@pytest.mark.parametrize("scale, satisfied, unsatisfied", [
    ((1, 5), [4, 5], [1, 2, 3]),
    ((1, 7), [6, 7], [1, 2, 3, 4, 5]),
    ((1, 10), [8, 9, 10], [1, 5, 7]),  # DESIGN: 8-10 on a ten-point scale
    ((0, 1), [1], [0]),          # Zendesk good/bad: only "good"
    ((1, 3), [3], [1, 2]),       # Help Scout: only "Great"
])
def test_top_two_box_on_each_scale(session, rules, add, scale, satisfied, unsatisfied):
    add("csat", satisfied + unsatisfied, scale)
    expected = 100 * len(satisfied) / (len(satisfied) + len(unsatisfied))
    assert _overall(session, rules["csat_percent"]).value == pytest.approx(expected)


def test_top_box_is_a_parameter_not_a_rescore(session, rules, add):
    add("csat", [5, 4, 3, 2], (1, 5))
    assert _overall(session, rules["csat_percent"], top_box=1).value == 25.0
    assert _overall(session, rules["csat_percent"], top_box=3).value == 75.0


def test_csat_mean_is_on_one_to_five_whatever_the_scale(session, rules, add):
    add("csat", [1, 5], (1, 5))
    add("csat", [7], (1, 7))
    assert _overall(session, rules["csat_mean"]).value == pytest.approx((1 + 5 + 5) / 3)


def test_nps_promoters_minus_detractors(session, rules, add):
    add("nps", [10, 9, 8, 7, 6, 0], (0, 10))
    result = _overall(session, rules["nps"])
    assert result.value == pytest.approx((2 - 2) / 6 * 100) and result.n == 6
    add("nps", [10, 10], (0, 10))
    assert _overall(session, rules["nps"]).value == pytest.approx((4 - 2) / 8 * 100)


def test_ces_mean_or_top_box(session, rules, add):
    add("ces", [7, 6, 1, 2], (1, 7))
    assert _overall(session, rules["ces"]).value == 4.0
    assert _overall(session, rules["ces"], mode="top_box").value == 50.0


def test_metrics_group_by_employee_and_skip_quarantined_items(session, rules, add, create_employee):
    ann, bob = create_employee("Ann"), create_employee("Bob")
    add("csat", [5, 4, 1], (1, 5), employee_id=ann.id)
    add("csat", [2], (1, 5), employee_id=bob.id)
    session.add(Feedback(channel="test", kind="csat", external_id="q", value=1, scale_min=1, scale_max=5,
                         employee_id=bob.id, status="quarantined", occurred_at=datetime(2026, 11, 2, tzinfo=UTC)))
    session.commit()
    results = metric(session, rules["csat_percent"], {})
    assert results[ann.id].value == pytest.approx(200 / 3) and results[ann.id].n == 3
    assert (results[bob.id].value, results[bob.id].n) == (0.0, 1)


def test_metric_loads_a_rules_parameters_so_left_out_ones_take_their_defaults(session, add):
    """A rule that reads its parameters as loaded (``params["top"]``) works through ``metric()`` without them."""
    from marshmallow import Schema, fields
    from sqlalchemy import case

    from core.scoring import ScoringRule

    class TopParams(Schema):
        top = fields.Integer(load_default=5)

    class TopShare(ScoringRule):
        name, title, kinds, params_schema = "top_share", "Top share", ("csat",), TopParams

        def points(self, feedback, params):
            return case((feedback.value >= params["top"], 100.0), else_=0.0)

    add("csat", [5, 5, 4, 1], (1, 5))
    assert metric(session, TopShare(), by_employee=False)[None].value == 50.0
    assert metric(session, TopShare(), {"top": 4}, by_employee=False)[None].value == 75.0


def test_ces_in_top_box_mode_is_a_share_with_a_wilson_interval(app, rules):
    """3 of 4 easiest answers is 75%, with the Wilson interval of a share (the mean mode's normal interval
    gave 26-100, and 2 of 2 an interval of no width), shown as a percentage."""
    from appraisal.aggregates import Aggregate, MetricSpec
    from appraisal.engine import Appraisal, Person
    from appraisal.formulas import wilson_interval
    from appraisal.guideline_schema import validate_guideline
    from tests.fixtures.appraisal import GUIDELINE

    plugins = app.extensions["plaudit.plugins"]
    document = validate_guideline(GUIDELINE | {"metrics": [
        {"rule": "ces", "weight": 100, "params": {"mode": "top_box"}}], "min_sample": 1}, plugins)
    spec = MetricSpec("ces", rules["ces"], document["metrics"][0]["params"])
    outcomes = Appraisal(document, [spec]).score_period(
        [Person(1, None), Person(2, None)],
        {1: {"ces": Aggregate(300.0, 4, 30_000.0)}, 2: {"ces": Aggregate(200.0, 2, 20_000.0)}})
    fatima, diego = outcomes[1].metrics["ces"], outcomes[2].metrics["ces"]
    low, high = wilson_interval(0.75, 4, document["confidence_level"])
    assert (fatima.value, fatima.ci_low, fatima.ci_high) == (75.0, pytest.approx(100 * low), pytest.approx(100 * high))
    assert round(fatima.ci_low, 1) == 30.1 and round(fatima.ci_high, 1) == 95.4
    assert diego.ci_high == pytest.approx(100.0) and round(diego.ci_low, 1) == 34.2
    assert rules["ces"].display_for({"mode": "top_box"}) == "percent"
    assert rules["ces"].display_for({"mode": "mean"}) == "number" and not rules["ces"].is_proportion({"mode": "mean"})
