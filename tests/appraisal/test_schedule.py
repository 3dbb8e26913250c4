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


def test_a_version_published_between_the_hourly_tries_does_not_run_the_week_again(app, worked_example):
    """Tried every hour from 02:00 to 06:00: a guideline published at 04:00 made the next try run the week
    again, superseding the first run's proposals."""
    import copy

    from appraisal.guidelines import publish_guideline
    from tests.fixtures.appraisal import GUIDELINE

    assert appraise_last_week(today="2026-11-09") is not None  # 02:00
    with transaction() as session:
        publish_guideline(session, copy.deepcopy(GUIDELINE) | {"min_sample": 5})
    assert appraise_last_week(today="2026-11-09") is None  # 05:00: the schedule's run is there
