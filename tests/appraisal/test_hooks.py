"""Plugins hear of runs and may recommend, but only what a guideline could: never a sanction."""
from __future__ import annotations

from sqlalchemy import select

from appraisal.models import AppraisalRun, Recommendation
from core import hookimpl
from core.db import transaction
from tests.fixtures.appraisal import WEEK


class Mentor:
    def __init__(self):
        self.completed = []

    @hookimpl
    def recommend(self, result, guideline):
        if result.composite is not None and result.composite < 60:
            return [{"kind": "coaching", "reason": f"pair with a mentor (guideline v{guideline.version})"},
                    {"kind": "termination", "reason": "should never be stored"},
                    {"kind": "bonus", "amount": -10, "reason": "a fine in disguise"}]
        return []

    @hookimpl
    def appraisal_completed(self, session, run):
        self.completed.append((run.id, run.status))


def test_recommend_and_appraisal_completed(make_app, worked_example, caplog):
    mentor = Mentor()
    app = make_app(extra_plugins={"mentor": mentor})
    with app.app_context():
        from appraisal.runs import request_run

        with transaction() as session:
            run_id = request_run(session, WEEK).id
        with transaction() as session:
            assert session.get(AppraisalRun, run_id).status == "completed"
            from_plugin = session.execute(select(Recommendation.employee_id, Recommendation.kind,
                                                 Recommendation.reason, Recommendation.source)
                                          .where(Recommendation.run_id == run_id,
                                                 Recommendation.source == "plugin:mentor")).all()
    # Only Dan's composite (58.8) is under 60; the sanction and the negative bonus were refused and logged.
    assert from_plugin == [(worked_example.ids["dan"], "coaching", "pair with a mentor (guideline v1)",
                            "plugin:mentor")]
    assert "termination" in caplog.text and "refused" in caplog.text
    assert mentor.completed == [(run_id, "completed")]


def test_a_plugins_bonus_with_float_noise_is_rounded_to_the_cent_not_refused():
    """Guideline amounts hold to two decimals; a plugin's 73.3 * 1.5 is arithmetic, not a typo."""
    from appraisal.incentives import plugin_proposal

    proposal = plugin_proposal(7, "loyalty", {"kind": "bonus", "amount": 73.3 * 1.5, "reason": "loyal"})
    assert proposal is not None and proposal.amount == 109.95
    assert plugin_proposal(7, "loyalty", {"kind": "bonus", "amount": 100 * 0.07 * 3}).amount == 21.0
    assert plugin_proposal(7, "loyalty", {"kind": "bonus", "amount": float("nan")}) is None
