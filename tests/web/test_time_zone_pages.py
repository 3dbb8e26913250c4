"""An organisation in Auckland (UTC+13 in November) reads its periods by its own days on pages and in the API.

Its week of 2 to 8 November begins at 11:00 UTC on Sunday 1 November: pages printed that bound's UTC date, so
the week read "2026-11-01 to 2026-11-07".
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalRun
from core.db import transaction
from core.models import ApiToken, User
from tests.fixtures.org import csrf_token, sign_in


@pytest.fixture
def app(make_app):
    return make_app(TIME_ZONE="Pacific/Auckland")


def test_hr_runs_a_week_and_every_surface_names_its_own_days(app, worked_example, session_per_request):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    token = csrf_token(client.get("/runs").get_data(as_text=True))
    response = client.post("/runs", data={"csrf_token": token, "kind": "week", "first": "2026-11-04"})
    assert response.status_code == 303
    with transaction() as session:
        run = session.scalar(select(AppraisalRun))
        assert (run.period_start.isoformat(), run.period_end.isoformat()) == (
            "2026-11-01T11:00:00+00:00", "2026-11-08T11:00:00+00:00")
        hr = session.get(User, worked_example.hr)
        api_token, plain = ApiToken.issue(hr, "test", ["appraisal:read"])
        session.add(api_token)
    page = client.get(response.location).get_data(as_text=True)
    assert f"Run {run.id}, week 2026-11-02 to 2026-11-08: completed." in page
    assert "Week 2026-11-02 to 2026-11-08" in page and "2026-11-07" not in page
    approvals = client.get(f"/review/recommendations?run={run.id}").get_data(as_text=True)
    assert "Week 2026-11-02 to 2026-11-08" in approvals
    report = client.get(f"/report/{worked_example.ids['ann']}?run={run.id}").get_data(as_text=True)
    assert "Week 2 to 8 November 2026" in report
    # trend labels and chart titles name the week by its own first day, not the UTC date of its bound (1 Nov)
    overview = client.get("/org").get_data(as_text=True)
    assert "week of 2026-11-02" in overview and ">2 Nov<" in overview and ">1 Nov<" not in overview

    listed = client.get("/api/v1/runs/", headers={"Authorization": f"Bearer {plain}"}).get_json()
    assert [(r["from"], r["to"], r["label"]) for r in listed] == [
        ("2026-11-02", "2026-11-08", "week 2026-11-02 to 2026-11-08")]
    # the API's day filters are the organisation's days too: the run is in "from 2 November", not "from 1"
    later = client.get("/api/v1/runs/?from=2026-11-02", headers={"Authorization": f"Bearer {plain}"}).get_json()
    assert [r["id"] for r in later] == [run.id]


def test_times_on_pages_are_on_the_organisations_clock_and_say_whose(app, worked_example, session_per_request):
    """Ann's Tuesday answers were given at 10:00 UTC: 23:00 on Tuesday in Auckland, and in Tuesday's filter."""
    client = app.test_client()
    assert sign_in(client, "mia@example.com").status_code == 302
    tuesday = client.get(f"/team/responses?employee={worked_example.ids['ann']}&from=2026-11-03&to=2026-11-03")
    assert re.findall(r'<td class="date">([^<]+)</td>', tuesday.get_data(as_text=True)) == [
        "2026-11-03 23:00", "2026-11-03 23:00"]
    hr = app.test_client()
    assert sign_in(hr, "hr@example.com").status_code == 302
    assert "<th>When (Pacific/Auckland)</th>" in hr.get("/guidelines").get_data(as_text=True)
    run = worked_example.run()
    lineage = hr.get(f"/report/{worked_example.ids['ann']}/runs/{run}/csat_percent").get_data(as_text=True)
    assert '<td class="date">2026-11-03 23:00</td>' in lineage  # it printed the item's UTC time, 10:00


def test_hr_is_told_to_move_periods_made_under_another_zone_before_appraising(app, worked_example,
                                                                             session_per_request):
    from tests.fixtures.appraisal import WEEK

    worked_example.run(period=WEEK)  # made at midnight UTC, as before the organisation set its zone
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    page = client.get("/runs").get_data(as_text=True)
    assert "Periods made under another time zone are stored (1 run)" in page
    assert "plaudit appraisal move-periods --from ZONE" in page
    token = csrf_token(page)
    refused = client.post("/runs", data={"csrf_token": token, "kind": "week", "first": "2026-11-04"})
    assert refused.status_code == 400 and "a period appraised again would not find what it paid already" in \
        refused.get_data(as_text=True)
    moved = app.test_cli_runner().invoke(args=["appraisal", "move-periods", "--from", "UTC"])
    assert "1 run moved to the same days in Pacific/Auckland" in moved.output, moved.output
    assert "data-stale-zone" not in client.get("/runs").get_data(as_text=True)


def test_mystery_shopping_times_are_typed_and_shown_on_the_organisations_clock(app, worked_example,
                                                                               session_per_request):
    """HR in Auckland typing a visit window from 09:00 meant 09:00 UTC, 22:00 there; the shopper's form (without
    its script) said UTC, and its window's bounds were UTC times."""
    from channels.mystery_shopper.models import Assignment, Report
    from tests.channels.mystery_shopper.visits import send_shoppers

    visits = send_shoppers(worked_example)
    hr = app.test_client()
    assert sign_in(hr, "hr@example.com").status_code == 302
    new = "/channels/mystery_shopper/assignments/new"
    page = hr.get(new).get_data(as_text=True)
    assert "Times are on the organisation's clock (Pacific/Auckland)." in page
    created = hr.post(new, data={
        "template_id": visits.template_id, "shopper_id": visits.shoppers["sam"],
        "employee_id": worked_example.ids["bob"], "scenario": "Ask about a refund.", "visit_from": "2026-11-10T09:00",
        "visit_until": "2026-11-12T18:00", "due_at": "2026-11-13T12:00", "csrf_token": csrf_token(page)})
    assert created.status_code == 302
    with transaction() as session:
        assignment = session.scalar(select(Assignment).order_by(Assignment.id.desc()).limit(1))
        assert assignment.visit_from.isoformat() == "2026-11-09T20:00:00+00:00"
    # Auckland's clocks go from 02:00 to 03:00 on 27 September: 02:30 does not exist, and a window from it to
    # 02:45 passed as ordered (compared on the wall clock) and failed at the database, a 500
    skipped = hr.post(new, data={
        "template_id": visits.template_id, "shopper_id": visits.shoppers["sam"],
        "employee_id": worked_example.ids["bob"], "scenario": "Ask about a refund.", "visit_from": "2026-09-27T02:30",
        "visit_until": "2026-09-27T03:15", "due_at": "2026-09-28T12:00", "csrf_token": csrf_token(page)})
    assert skipped.status_code == 400
    assert "2026-09-27 02:30 does not exist in Pacific/Auckland: the clocks go forward over it" in skipped.get_data(
        as_text=True)

    sam = app.test_client()
    assert sign_in(sam, "shopper@example.com").status_code == 302
    url = f"/channels/mystery_shopper/assignments/{visits.assignments['sam']}"
    form = sam.get(url).get_data(as_text=True)
    assert "When did you visit? (Pacific/Auckland)" in form
    # the window opens at 09:00 UTC on 3 November: 22:00 in Auckland, and in UTC for the script
    assert 'min="2026-11-03T22:00"' in form and 'data-utc-min="2026-11-03T09:00Z"' in form
    saved = sam.post(url, data={"visited_at": "2026-11-04T14:30", "receipt_number": "R-1", "action": "draft",
                                "csrf_token": csrf_token(form)})
    assert saved.status_code == 302
    with transaction() as session:
        report = session.scalar(select(Report).where(Report.assignment_id == visits.assignments["sam"]))
        assert report.visited_at.isoformat() == "2026-11-04T01:30:00+00:00"
    again = sam.get(url).get_data(as_text=True)
    assert 'value="2026-11-04T14:30" data-utc="2026-11-04T01:30Z"' in again
    # a refused form shows what was typed, on the same clock
    refused = sam.post(url, data={"visited_at": "2026-11-08T10:00", "receipt_number": "R-1", "action": "draft",
                                  "csrf_token": csrf_token(again)}).get_data(as_text=True)
    assert "the visit must be between 2026-11-03 22:00 Pacific/Auckland and" in refused
    assert 'value="2026-11-08T10:00" data-utc="2026-11-07T21:00Z"' in refused
    skipped = sam.post(url, data={"visited_at": "2026-09-27T02:30", "receipt_number": "R-1", "action": "draft",
                                  "csrf_token": csrf_token(again)}).get_data(as_text=True)
    assert "does not exist in Pacific/Auckland" in skipped and 'value="2026-09-27T02:30" data-utc=""' in skipped
