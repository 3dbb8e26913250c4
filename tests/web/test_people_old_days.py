"""After HR changes someone's days, their page names the runs that still appraise them by the old ones, and runs
those periods again from there."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalRun
from core.db import transaction
from tests.fixtures.appraisal import WEEK
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")
WEEK_RUN = "Run week 2026-11-02 again"


def _hr(app):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    return client


def _post(client, employee_id: int, path: str = "", **form):
    page = client.get(f"/people/{employee_id}").get_data(as_text=True)
    response = client.post(f"/people/{employee_id}{path}", data={"csrf_token": csrf_token(page), **form})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_a_leaving_day_in_the_past_names_the_run_to_make_again_and_the_new_run_counts_them_out(app, worked_example):
    run_id = worked_example.run()
    bob = worked_example.ids["bob"]
    client = _hr(app)
    assert WEEK_RUN not in client.get(f"/people/{bob}").get_data(as_text=True)

    _post(client, bob, left_on="2026-11-04", keep_account="y")  # Wednesday of the week appraised
    page = client.get(f"/people/{bob}").get_data(as_text=True)
    assert "Runs that appraise them by their old days" in page and WEEK_RUN in page
    assert f'run={run_id}">{run_id}</a>' in page
    home = client.get("/").get_data(as_text=True)  # HR learns of it without opening each person
    assert re.search(rf'data-waiting="people.old_days">.*?<a href="/people/{bob}">Bob</a> \(1\)', home, re.DOTALL)

    form = re.search(r'<form method="post" action="/runs">(.*?)</form>', page, re.DOTALL).group(1)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    assert (fields["kind"], fields["first"], fields["last"]) == ("week", "2026-11-02", "2026-11-08")
    again = client.post("/runs", data=fields)
    assert again.status_code == 303 and again.location.endswith(f"/people/{bob}")  # back to Bob, not the runs
    with transaction() as session:
        again = session.scalars(select(AppraisalRun).where(AppraisalRun.id > run_id)).one()
        assert (again.period_kind, again.status) == ("week", "completed")
        assert (again.period_start, again.period_end) == (WEEK.start, WEEK.end)
    assert WEEK_RUN not in client.get(f"/people/{bob}").get_data(as_text=True)  # made after the change
    assert "people.old_days" not in client.get("/").get_data(as_text=True)


def test_changes_that_touch_no_period_appraised_name_no_run(app, worked_example):
    worked_example.run()
    ann, dan = worked_example.ids["ann"], worked_example.ids["dan"]
    client = _hr(app)
    _post(client, ann, left_on="2026-11-20", keep_account="y")  # after the week
    assert WEEK_RUN not in client.get(f"/people/{ann}").get_data(as_text=True)
    _post(client, dan, "/joined", started_on="2026-11-01")  # before it: the whole week was theirs all along
    assert WEEK_RUN not in client.get(f"/people/{dan}").get_data(as_text=True)


def test_a_joining_day_inside_the_period_names_its_run(app, worked_example):
    worked_example.run()
    cat = worked_example.ids["cat"]
    client = _hr(app)
    _post(client, cat, "/joined", started_on="2026-11-05")
    assert WEEK_RUN in client.get(f"/people/{cat}").get_data(as_text=True)


def test_the_runs_form_comes_back_only_to_a_page_of_this_site(app, worked_example):
    client = _hr(app)
    page = client.get("/runs").get_data(as_text=True)
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
                      "/\t/evil.example", "/\n/x", "/people/1?next=//evil.example"):
        answer = client.post("/runs", data={"csrf_token": csrf_token(page), "kind": "week", "first": "2026-11-02",
                                            "next": elsewhere})
        assert answer.status_code == 303 and answer.location.endswith("/runs"), (elsewhere, answer.location)
