"""The demo's guideline: the optional metrics count only when their rules are loaded, weights always 100."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from appraisal.demo import GUIDELINE, demo_guideline
from appraisal.guideline_schema import validate_guideline
from core.plugins import get_plugins

SURVEY = {"csat_percent", "nps", "ces"}
SOCIAL = {"social_sentiment", "social_reply_time"}


@pytest.mark.parametrize("loaded, extra", [
    (set(), []),
    ({"mystery_score"}, ["mystery_score"]),
    (SOCIAL, ["social_sentiment", "social_reply_time"]),
    ({"social_sentiment"}, []),  # half the social scores: neither counts
    ({"mystery_score"} | SOCIAL, ["mystery_score", "social_sentiment", "social_reply_time"]),
])
def test_optional_metrics_count_only_when_loaded(loaded, extra):
    document = demo_guideline(SimpleNamespace(scoring_rules=SURVEY | loaded))
    assert [metric["rule"] for metric in document["metrics"]] == ["csat_percent", "nps", "ces", *extra]
    assert sum(metric["weight"] for metric in document["metrics"]) == 100
    if not extra:
        assert document == GUIDELINE


def test_the_demo_guideline_is_valid_with_every_builtin_loaded(app):
    with app.app_context():
        plugins = get_plugins()
        document = validate_guideline(demo_guideline(plugins), plugins)
    rules = {metric["rule"] for metric in document["metrics"]}
    assert (SOCIAL <= rules) == (SOCIAL <= set(plugins.scoring_rules))
