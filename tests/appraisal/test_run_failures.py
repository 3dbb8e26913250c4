"""A run that fails says why in a line: the scoring rule at fault and its plugin, not a page of SQL."""
from __future__ import annotations

import pytest
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


class MissingParameter(ScoringRule):
    name, title, kinds = "missing_parameter", "A parameter it never declared", ("csat",)

    def points(self, feedback, params):
        return case((feedback.value >= params["box"], 100.0), else_=0.0)


class Rules:
    @hookimpl
    def register_scoring_rules(self):
        return [MisspeltFunction, MissingParameter]


@pytest.fixture
def app(make_app):
    return make_app(extra_plugins={"faulty_rules": Rules()})


@pytest.mark.parametrize("rule, error", [
    ("misspelt", "no_such_fn"),
    ("missing_parameter", "KeyError: 'box'"),
])
def test_a_failed_run_names_the_faulty_rule_and_its_plugin(worked_example, rule, error):
    guideline = {**GUIDELINE, "metrics": [{"rule": "csat_percent", "weight": 50},
                                          {"rule": rule, "weight": 50, "bounds": {"min": 0, "max": 100}}]}
    with transaction() as session:
        publish_guideline(session, guideline, note="with a plugin's rule")
    run_id = worked_example.run(version=2)  # inline: the job fails, and the outbox will try it again
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert run.status == "failed"
        assert run.error.startswith(f"scoring rule {rule!r} (tests.appraisal.test_run_failures) fails: ")
        assert error in run.error and "SELECT" not in run.error and "\n" not in run.error
