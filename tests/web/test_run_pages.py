"""HR appraises a period from the web and sees every run; a wrong period names its field and runs nothing."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from appraisal.models import AppraisalResult, AppraisalRun
from core.db import transaction
from core.models import AuditEntry, utcnow
from tests.fixtures.app import row_counts
from tests.fixtures.appraisal import BEFORE
from tests.fixtures.org import csrf_token, sign_in


def test_hr_appraises_a_month_and_sees_it_listed(app, worked_example, session_per_request):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    token = csrf_token(client.get("/runs").get_data(as_text=True))
    response = client.post("/runs", data={"csrf_token": token, "kind": "month", "first": "2026-11-15"})
    assert response.status_code == 303
    with transaction() as session:
        run = session.scalar(select(AppraisalRun))
        assert (run.period_kind, run.period_start.date().isoformat(), run.period_end.date().isoformat(),
                run.status) == ("month", "2026-11-01", "2026-12-01", "completed")
        appraised = session.scalar(select(func.count()).select_from(AppraisalResult)
                                   .where(AppraisalResult.run_id == run.id))
        assert session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "appraisal.requested")) \
            == worked_example.hr
    page = client.get(response.location).get_data(as_text=True)
    assert f"Run {run.id}, month 2026-11-01 to 2026-11-30: completed." in page
    if utcnow().date() <= date(2026, 11, 30):  # (while it runs, the page says its numbers will change)
        assert "Note: the month 2026-11-01 to 2026-11-30 has not ended yet" in page
    assert "Month 2026-11-01 to 2026-11-30" in page and f'<td class="num" role="cell" data-label="People">{appraised}</td>' in page
    # the organisation overview of months now has something to show
    assert "No completed month appraisal yet" not in client.get("/org?kind=month").get_data(as_text=True)


def test_a_wrong_period_is_named_and_nothing_runs(app, worked_example, session_per_request):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    token = csrf_token(client.get("/runs").get_data(as_text=True))
    before = row_counts(app)
    for form, message in (({"kind": "fortnight", "first": "2026-11-02"}, "kind: choose from"),
                          ({"kind": "week", "first": "2 Nov"}, "first: give a day as YYYY-MM-DD"),
                          ({"kind": "week", "first": " "}, "first: choose a day"),
                          ({"kind": "custom", "first": "2026-11-08", "last": "2026-11-02"},
                           "last: the period ends (2026-11-02) before it starts (2026-11-08)"),
                          # Days whose period would end, or begin its predecessor, past Python's dates (were 500s)
                          ({"kind": "week", "first": "9999-12-31"},
                           "first: 9999-12-31 is outside the days a period may hold (1900-01-01 to 9998-12-31)"),
                          ({"kind": "week", "first": "0001-01-01"}, "first: 0001-01-01 is outside the days"),
                          ({"kind": "custom", "first": "1900-01-01", "last": "9998-12-31"},
                           "last: 1900-01-01 to 9998-12-31 is longer than a period may be (3,653 days)"),
                          # A period still to come has nothing to appraise, and would show as the latest
                          ({"kind": "quarter", "first": "2099-01-01"},
                           "first: the quarter 2099-01-01 to 2099-03-31 starts after today")):
        response = client.post("/runs", data={"csrf_token": token, **form})
        assert response.status_code == 400 and message in response.get_data(as_text=True), form
    assert row_counts(app) == before
    past = client.get("/runs?page=5")  # was an empty 200; every other list names the pages there are
    assert past.status_code == 400 and "page: there is 1 page" in past.get_data(as_text=True)


def test_the_runs_show_each_periods_approved_bonuses_against_the_cap_and_say_when_a_lower_cap_is_passed(
        app, worked_example, session_per_request):
    """A period whose proposals were all decided showed its bonus spend on no page, and a cap lowered in a later
    version below what was approved already said nothing."""
    import copy

    from appraisal.guidelines import publish_guideline
    from appraisal.models import Recommendation
    from tests.fixtures.appraisal import GUIDELINE
    from tests.web.review_support import decide

    first = worked_example.run()
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    with transaction() as session:
        ann = session.scalar(select(Recommendation).where(
            Recommendation.run_id == first, Recommendation.kind == "bonus",
            Recommendation.employee_id == worked_example.ids["ann"]))
        ann_id, paid = ann.id, ann.amount
    assert decide(client, "/review/recommendations", recommendation_id=ann_id, decision="approve").status_code == 303
    listed = client.get("/runs").get_data(as_text=True)
    assert f'data-label="Bonuses">{paid:.2f} of 130.00 EUR</td>' in listed and "data-over" not in listed

    lowered = copy.deepcopy(GUIDELINE)
    lowered["incentives"]["budget"]["cap"] = paid - 20
    # so that the run has proposals to decide: a recognition for everyone
    lowered["incentives"]["tiers"].append({"name": "Thanks", "group": "thanks", "conditions": {"min_composite": 0},
                                           "gives": [{"kind": "recognition"}]})
    lowered["approval_required"] = ["bonus", "recognition"]
    with transaction() as session:
        publish_guideline(session, lowered, note="a smaller budget")
    second = worked_example.run()
    listed = client.get("/runs").get_data(as_text=True)
    row = re.search(rf'<tr id="run-{second}".*?</tr>', listed, re.DOTALL).group(0)
    assert f"{paid:.2f} of {paid - 20:.2f} EUR" in row and "over the cap by 20.00" in row
    with transaction() as session:  # the second run funded nothing: the cap was spent before it began
        assert session.scalar(select(func.count()).select_from(Recommendation).where(
            Recommendation.run_id == second, Recommendation.kind == "bonus", Recommendation.amount > 0)) == 0
    approvals = client.get(f"/review/recommendations?run={second}").get_data(as_text=True)
    assert "Over the cap</dt><dd class=\"bad\" data-over>20.00 EUR" in approvals
    assert "Left under the cap" not in approvals


def test_a_run_made_again_marks_the_one_before_it_superseded(app, worked_example, session_per_request):
    """A new user saw two completed runs of one week on the list, with nothing to tell which the pages read."""
    first, again = worked_example.run(), worked_example.run()
    other = worked_example.run(period=BEFORE)
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    page = client.get("/runs").get_data(as_text=True)
    assert page.count("data-superseded") == 1 and f"superseded by run {again}" in page
    row = re.search(rf'<tr id="run-{first}".*?</tr>', page, re.DOTALL).group(0)
    assert f"superseded by run {again}" in row
    assert "superseded" not in re.search(rf'<tr id="run-{other}".*?</tr>', page, re.DOTALL).group(0)
