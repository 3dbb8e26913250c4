"""mystery_score and mystery_section: means of report and section scores, in SQL on both databases."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appraisal.aggregates import MetricSpec, metric_aggregates
from appraisal.metrics import metric
from core.models import Feedback

DAY = datetime(2026, 11, 3, tzinfo=UTC)


@pytest.fixture
def rules(app):
    return app.extensions["plaudit.plugins"].scoring_rules


@pytest.fixture
def reports(session, create_employee):
    """Two reports about Ann (94.7% and 90%), one about Bob; sections of each as mystery_section items."""
    ann, bob = create_employee("Ann"), create_employee("Bob")
    rows = [(ann, 1, 90 / 95 * 100, {"speed": 100.0, "privacy": 80.0}),
            (ann, 2, 90.0, {"speed": 50.0}),
            (bob, 3, 40.0, {"speed": 0.0, "privacy": 100.0})]
    for employee, report, score, sections in rows:
        session.add(Feedback(channel="mystery_shopper", kind="mystery_report", external_id=f"report-{report}",
                             value=score, scale_min=0, scale_max=100, employee_id=employee.id, occurred_at=DAY,
                             payload={"report_id": report}))
        for key, value in sections.items():
            session.add(Feedback(channel="mystery_shopper", kind="mystery_section",
                                 external_id=f"report-{report}:{key}", value=value, scale_min=0, scale_max=100,
                                 employee_id=employee.id, occurred_at=DAY, payload={"section": key}))
    session.commit()
    return ann, bob


def test_mystery_score_is_the_mean_of_report_scores(session, rules, reports):
    ann, bob = reports
    values = metric(session, rules["mystery_score"], {})
    assert values[ann.id].value == pytest.approx(92.36842105263158) and values[ann.id].n == 2
    assert values[bob.id].value == 40.0


def test_a_section_rule_counts_only_its_sections_items(session, rules, reports):
    ann, _ = reports
    rule = rules["mystery_section"]
    speed = metric(session, rule, {"section": "speed"})
    assert (speed[ann.id].value, speed[ann.id].n) == (75.0, 2)
    privacy = metric(session, rule, {"section": "privacy"})
    assert (privacy[ann.id].value, privacy[ann.id].n) == (80.0, 1)
    assert metric(session, rule, {"section": "parking"}) == {}
    specs = [MetricSpec("mystery_section", rule, {"section": "privacy"}),
             MetricSpec("mystery_score", rules["mystery_score"], {})]
    aggregates, _ = metric_aggregates(session, specs, DAY, datetime(2026, 11, 4, tzinfo=UTC))
    assert aggregates[ann.id]["mystery_section"].n == 1 and aggregates[ann.id]["mystery_section"].mean == 80.0
    assert aggregates[ann.id]["mystery_score"].n == 2


def test_the_section_parameter_is_required(rules):
    from marshmallow import ValidationError

    with pytest.raises(ValidationError, match="section"):
        rules["mystery_section"].params_schema().load({})
