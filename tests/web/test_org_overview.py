"""HR's organisation overview: its figures equal the stored runs, and its queries do not grow with the org."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from appraisal.models import AppraisalResult, AppraisalRun, MetricResult
from appraisal.results import run_rows
from core.db import get_session, transaction
from core.models import Feedback, Flag
from tests.fixtures.app import statements_of_page
from tests.fixtures.appraisal import BEFORE
from tests.fixtures.org import sign_in
from tests.fixtures.scale import sized_org


@contextmanager
def _db():
    """A unit of work of the test's own, once the requests' shared session (the example holds an app
    context open, so requests share one in ``g``) has let go of SQLite's lock."""
    get_session().rollback()
    with transaction() as session:
        yield session


def _table(html: str, table_id: str) -> list[list[str]]:
    """The cells of the table with ``table_id``, row by row (header cells included), as text."""
    body = re.search(rf'<table[^>]*id="{re.escape(table_id)}".*?</table>', html, re.DOTALL)
    assert body, f"no table {table_id}"
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(0), re.DOTALL)]


def _bins(values, low, high, bins=10):
    counts = [0] * bins
    for value in values:
        counts[min(max(int((value - low) / (high - low) * bins), 0), bins - 1)] += 1
    return counts


def test_only_hr_opens_the_overview(worked_example, app):
    for email, status in {"hr@example.com": 200, "mia@example.com": 403, "ann@example.com": 403,
                          "admin@example.com": 403}.items():
        client = app.test_client()
        assert sign_in(client, email).status_code == 302
        assert client.get("/org").status_code == status, email
    assert app.test_client().get("/org").status_code == 302


def test_the_distributions_count_the_runs_results(worked_example, login):
    run_id = worked_example.run()
    client = login("hr@example.com")
    html = client.get("/org").get_data(as_text=True)
    with _db() as session:
        rows = run_rows(session, session.get(AppraisalRun, run_id))
    composites = [row["composite"] for row in rows if row["composite"] is not None]
    assert composites and len(composites) < len(rows)  # someone had too little data
    header, counts = _table(html, "composite-bins")
    assert header[1:] == ["0–10", "10–20", "20–30", "30–40", "40–50", "50–60", "60–70", "70–80", "80–90", "90–100"]
    assert [int(c) for c in counts[1:]] == _bins(composites, 0, 100)
    assert re.search(rf"<dt>Too little data</dt><dd class=\"num\">{len(rows) - len(composites)}</dd>", html)

    for metric, (low, high) in {"csat_percent": (0, 100), "nps": (-100, 100)}.items():
        values = [row["metrics"][metric]["value"] for row in rows
                  if metric in row["metrics"] and row["metrics"][metric]["sufficient"]]
        header, counts = _table(html, f"metric-bins-{metric}")
        dash = " to " if low < 0 else "–"  # "-100 to -80" reads where "-100–-80" does not
        assert header[1] == f"{low}{dash}{low + (high - low) // 10}"
        assert [int(c) for c in counts[1:]] == _bins(values, low, high), metric
    assert '<svg class="chart"' in html


def test_the_trend_and_teams_equal_the_stored_runs(worked_example, login):
    earlier = worked_example.run(period=BEFORE)
    worked_example.run()
    latest = worked_example.run()  # a re-run of the week: the trend reads it, not the first
    with _db() as session:
        item = session.scalar(select(Feedback).where(Feedback.employee_id == worked_example.ids["ann"])
                              .order_by(Feedback.occurred_at.desc()).limit(1))
        session.add(Flag(feedback_id=item.id, check="self_rating", reason="the agent rated themselves"))
    client = login("hr@example.com")
    html = client.get("/org").get_data(as_text=True)
    with _db() as session:
        stored = {run_id: session.execute(select(AppraisalResult).where(AppraisalResult.run_id == run_id))
                  .scalars().all() for run_id in (earlier, latest)}
    trend = {row[0]: row[1:] for row in _table(html, "trend")}
    assert trend[""] == ["26 Oct", "02 Nov"]
    org_means = [next(r.org_mean for r in stored[run_id]) for run_id in (earlier, latest)]
    assert trend["Organisation"] == [f"{mean:.1f}" for mean in org_means]
    support = [next(r.team_mean for r in stored[run_id] if r.employee_id == worked_example.ids["ann"])
               for run_id in (earlier, latest)]
    assert trend["Support"] == [f"{mean:.1f}" if mean is not None else "–" for mean in support]

    teams = {row[0]: row[1:] for row in _table(html, "teams")[1:]}
    members = {"Support": ("ann", "bob", "cat"), "Billing": ("dan",)}
    for name, people in members.items():
        ids = {worked_example.ids[person] for person in people}
        mine = [r for r in stored[latest] if r.employee_id in ids]
        eligible = [r.composite for r in mine if r.composite is not None]
        mean = f"{sum(eligible) / len(eligible):.1f}" if eligible else "–"
        # the new flag is on one of Ann's items of the week, so Support has one open
        assert teams[name] == [str(len(mine)), mean, str(len(eligible)), "1" if name == "Support" else "0"], name
    assert teams["No team"][0] == "1"  # Mia leads Support from outside any team


def test_the_case_mix_is_the_runs_items_by_category(worked_example, login):
    run_id = worked_example.run()
    client = login("hr@example.com")
    html = client.get("/org").get_data(as_text=True)
    with _db() as session:
        mixes = session.scalars(select(AppraisalResult.case_mix).where(AppraisalResult.run_id == run_id)).all()
        org_csat = session.scalar(select(MetricResult.org_mean).where(
            MetricResult.run_id == run_id, MetricResult.metric == "csat_percent").limit(1))
    # The org's value per category, as every employee's case mix compares against it.
    expected = {row["category"]: (row["org_n"], row["org_value"]) for mix in mixes
                for row in mix.get("categories", ())}
    table = {row[0]: row[1:] for row in _table(html, "case-mix")[1:]}
    assert set(table) == set(expected) == {"Billing", "Refunds"}
    for category, (n, value) in expected.items():
        assert table[category][:2] == [str(n), f"{value:.1f}%"]
        assert table[category][2] == f"{value - org_csat:+.1f}"
    # the dashed reference is the org's CSAT over every item the run counted
    assert f"organisation&#39;s {org_csat:.1f}%" in html or f"organisation's {org_csat:.1f}%" in html


def test_bad_or_empty_choices_are_explained(worked_example, login):
    client = login("hr@example.com")
    assert "No completed week appraisal yet" in client.get("/org").get_data(as_text=True)
    get_session().rollback()  # the request's shared session lets go of SQLite's lock (see _db)
    worked_example.run()
    response = client.get("/org?kind=year")
    assert response.status_code == 400 and "kind: choose week, month, quarter" in response.get_data(as_text=True)
    assert "No completed month appraisal yet" in client.get("/org?kind=month").get_data(as_text=True)
    assert client.get("/org?team=x").status_code == 400
    assert "team: no results for team 999" in client.get("/org?team=999").get_data(as_text=True)
    too_many = client.get("/org?" + "&".join(f"team={n}" for n in range(1, 6)))
    assert too_many.status_code == 400 and "at most 4 teams" in too_many.get_data(as_text=True)


def _statements(app, client, path) -> int:
    get_session().rollback()  # as a new request would, start without the shared session's cached rows
    return statements_of_page(app, client, path)


@pytest.mark.parametrize("query", ["", "?team={support}&team={billing}"])
def test_the_overview_issues_the_same_queries_for_a_small_and_a_large_org(app, query):
    with app.app_context():
        org = sized_org(10)
        path = "/org" + query.format(support=org.support, billing=org.billing)
        client = app.test_client()
        assert sign_in(client, "hr@example.com").status_code == 302
        small = _statements(app, client, path)
        get_session().rollback()  # the requests' shared session lets go of SQLite's lock
        org.grow(400)
        html = client.get(path).get_data(as_text=True)
        assert sum(int(n) for n in _table(html, "composite-bins")[1][1:]) > 300
        assert _statements(app, client, path) == small
