"""The weekly appraisal: cron asks every Monday for the week just ended, once."""
from __future__ import annotations

from appraisal.models import AppraisalRun
from appraisal.runs import appraise_last_week
from core.db import transaction
from core.jobs import cron_entries
from tests.fixtures.appraisal import WEEK


def test_cron_runs_last_week_once(app, worked_example):
    assert any(e.func == "appraisal.runs.appraise_last_week" and e.cron == "0 2-6 * * 1" for e in cron_entries(app))
    run_id = appraise_last_week(today="2026-11-11")  # a Wednesday: last week is 2 to 8 November
    assert appraise_last_week(today="2026-11-09") is None  # the Monday after: already there
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert (run.period_kind, run.period_start, run.period_end, run.status) == (
            "week", WEEK.start, WEEK.end, "completed")
