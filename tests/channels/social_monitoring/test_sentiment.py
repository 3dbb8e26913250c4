"""Sentiment is scored once, at ingestion, by vaderSentiment unless a plugin answers the hook first."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.social_monitoring.sentiment import label_of, vader_sentiment
from core.ingestion import ingest
from core.models import Feedback
from core.plugins import PluginError, get_plugins, hookimpl


def _post(external_id, text, **extra):
    return {"source": "tests", "external_id": external_id, "posted_at": "2026-11-02T10:15:00+00:00",
            "text": text, "author": "@customer", **extra}


def test_vader_scores_on_minus_one_to_one_with_its_cut_offs():
    bad, good = vader_sentiment("Worst airline ever, lost my bag and nobody helps"), vader_sentiment("Thank you, great crew!")
    assert -1 <= bad[0] < -0.05 and bad[1] == "negative"
    assert 0.05 < good[0] <= 1 and good[1] == "positive"
    assert vader_sentiment("Flight 101 leaves at 9") == (0.0, "neutral")
    assert [label_of(s) for s in (-0.05, -0.0499, 0.0499, 0.05)] == ["negative", "neutral", "neutral", "positive"]


def test_ingestion_stores_score_and_label_and_brand_replies_count_in_no_score(app, session):
    report = ingest(session, "social_monitoring", [
        _post("1", "You lost my bag again. Terrible service."),
        _post("2", "Sorry to hear that, we're on it ^JD", brand_reply=True, in_reply_to="1"),
        _post("3", "no text", posted_at="yesterday"),
    ])
    assert [r.errors for r in report.rejected] == [{"posted_at": ["Not a valid datetime."]}]
    items = {f.external_id: f for f in session.scalars(select(Feedback))}
    customer, brand = items["tests:1"], items["tests:2"]
    assert (customer.value, customer.payload["sentiment"]) == vader_sentiment(customer.comment)
    assert (customer.scale_min, customer.scale_max) == (-1, 1) and customer.kind == "social_mention"
    assert customer.respondent_ref and customer.respondent_ref != "@customer"  # only its salted hash
    assert brand.value is None and brand.payload["sentiment"] in ("negative", "neutral", "positive")
    assert brand.payload["in_reply_to"] == "1"


class Grumpy:
    """A plugin whose analyser finds everything mildly negative."""

    @hookimpl
    def sentiment(self, text):
        return -0.25, "negative"


class Broken:
    @hookimpl
    def sentiment(self, text):
        return 3, "furious"


def test_a_plugin_replaces_the_default_analyser(make_app):
    app = make_app(extra_plugins={"grumpy": Grumpy()})
    with app.app_context():
        assert get_plugins().sentiment("Thank you, great crew!") == (-0.25, "negative")
        session = app.extensions["plaudit.db"].sessionmaker()
        with session, session.begin():
            ingest(session, "social_monitoring", [_post("9", "Thank you, great crew!")])
            item = session.scalars(select(Feedback)).one()
            assert (item.value, item.payload["sentiment"]) == (-0.25, "negative")


def test_an_answer_off_the_scale_is_refused_naming_it(make_app):
    app = make_app(extra_plugins={"broken": Broken()})
    with app.app_context(), pytest.raises(PluginError, match="must be on -1..1"):
        get_plugins().sentiment("anything")


def test_the_benchmark_scores_accuracy_and_macro_f1_as_by_hand():
    from tests.benchmarks.sentiment_accuracy import scores

    result = scores(["negative", "negative", "neutral", "positive"], ["negative", "positive", "neutral", "positive"])
    assert result["accuracy"] == 0.75
    # negative: precision 1, recall 1/2, F1 2/3; neutral: F1 1; positive: precision 1/2, recall 1, F1 2/3.
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert result["confusion"]["negative"] == {"negative": 1, "neutral": 0, "positive": 1}
