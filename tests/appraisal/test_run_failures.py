"""A run that fails says why in a line: the scoring rule at fault and its plugin, not a page of SQL."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy import case, func

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalRun
from core import hookimpl
from core.db import transaction
from core.scoring import ScoringRule
from tests.fixtures.appraisal import GUIDELINE


class MisspeltFunction(ScoringRule):
    name, title, kinds = "misspelt", "A function no database has", ("csat",)

    def points(self, feedback, params):
        return func.no_such_fn(feedback.value)


class Upgraded(ScoringRule):
    """Published while it worked; its plugin's next release reads a parameter it never declared."""

    name, title, kinds = "upgraded", "Broken by an upgrade", ("csat",)
    released = 1

    def points(self, feedback, params):
        box = params["box"] if self.released > 1 else 4
        return case((feedback.value >= box, 100.0), else_=0.0)


class Wordy(ScoringRule):
    name, title, kinds = "wordy", "Points in words", ("csat",)

    def points(self, feedback, params):
        return case((feedback.value >= 4, "yes"), else_="no")


class Rules:
    @hookimpl
    def register_scoring_rules(self):
        return [MisspeltFunction, Upgraded, Wordy]


@pytest.fixture
def app(make_app):
    return make_app(extra_plugins={"faulty_rules": Rules()})


def _guideline(rule: str) -> dict:
    return {**GUIDELINE, "metrics": [{"rule": "csat_percent", "weight": 50},
                                     {"rule": rule, "weight": 50, "bounds": {"min": 0, "max": 100}}]}


@pytest.mark.parametrize("rule, error", [
    ("misspelt", "no_such_fn"),
    ("upgraded", "KeyError: 'box'"),
])
def test_a_failed_run_names_the_faulty_rule_and_its_plugin(worked_example, app, monkeypatch, rule, error):
    with transaction() as session:
        publish_guideline(session, _guideline(rule), note="with a plugin's rule")
    monkeypatch.setattr(Upgraded, "released", 2)
    run_id = worked_example.run(version=2)  # inline: the job fails, and the outbox will try it again
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert run.status == "failed"
        assert run.error.startswith(f"scoring rule {rule!r} (tests.appraisal.test_run_failures) fails: ")
        assert error in run.error and "SELECT" not in run.error and "\n" not in run.error


def test_points_in_words_are_refused_when_the_guideline_is_published(worked_example):
    """Text points ran on SQLite and made every composite 0, everyone tied first, coaching for all."""
    with transaction() as session, pytest.raises(ValidationError) as refused:
        publish_guideline(session, _guideline("wordy"), note="words")
    assert refused.value.messages == {"metrics": {1: {"rule": [
        ("wordy's points are string, not numbers, so they cannot be averaged; the fault is in its plugin, "
        "tests.appraisal.test_run_failures")]}}}
