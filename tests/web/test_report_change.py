"""A report's Change: "–" beside last period's composite says why, rather than leave the reader to guess."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from appraisal.models import AppraisalResult
from core.db import transaction
from tests.fixtures.appraisal import BEFORE

pytestmark = pytest.mark.usefixtures("session_per_request")


def test_a_change_not_worked_out_says_the_composites_stood_on_other_metrics(worked_example, as_user):
    worked_example.run(period=BEFORE)
    run_id = worked_example.run()
    html = as_user("ann@example.com").get("/report").get_data(as_text=True)
    assert "from 83.3" in html and "the two do not compare" not in html
    # What the engine stores when one period had enough answers for a metric and the other not (engine._compare)
    with transaction() as session:
        session.execute(update(AppraisalResult).where(AppraisalResult.run_id == run_id,
                                                      AppraisalResult.employee_id == worked_example.ids["ann"])
                        .values(change=None))
    html = as_user("ann@example.com").get("/report").get_data(as_text=True)
    assert "last period 83.3, on other metrics: the two do not compare" in html
