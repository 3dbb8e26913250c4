"""HR's organisation overview: its figures equal the stored runs, and its queries do not grow with the org."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import func, select

from appraisal.models import AppraisalResult, AppraisalRun
from appraisal.results import run_rows
from core.db import get_session, transaction
from core.models import Feedback, Flag
from tests.fixtures.app import statements_of_page
from tests.fixtures.appraisal import BEFORE
from tests.fixtures.org import sign_in
from tests.fixtures.scale import sized_org

SVG = "{http://www.w3.org/2000/svg}"


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
    assert trend[""] == ["26 Oct", "2 Nov"]
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


def _stored_case_mix(run_id: int) -> dict[str, tuple[int, float]]:
    """The org's figures per category, as every employee's stored case mix compares against them."""
    with _db() as session:
        mixes = session.scalars(select(AppraisalResult.case_mix).where(AppraisalResult.run_id == run_id)).all()
    expected = {}
    for mix in mixes:
        for row in mix.get("categories", ()):
            assert expected.setdefault(row["category"], (row["org_n"], row["org_value"])) == (
                row["org_n"], row["org_value"])  # the same in every result
    return expected


def _pooled(expected: dict[str, tuple[int, float]]) -> tuple[int, float]:
    n = sum(count for count, _ in expected.values())
    return n, sum(count * value for count, value in expected.values()) / n


def _reference_text(html: str) -> str:
    return re.search(r"the dashed line is the\s+organisation(?:'|&#39;)s (\S+) over those (\d+) item", html).groups()


def test_the_case_mix_is_the_runs_items_by_category(worked_example, login):
    run_id = worked_example.run()
    client = login("hr@example.com")
    html = client.get("/org").get_data(as_text=True)
    expected = _stored_case_mix(run_id)
    table = {row[0]: row[1:] for row in _table(html, "case-mix")[1:]}
    assert set(table) == set(expected) == {"Billing", "Refunds"}
    n, org_value = _pooled(expected)
    for category, (count, value) in expected.items():
        assert table[category][:2] == [str(count), f"{value:.1f}%"]
        assert table[category][2] == f"{value - org_value:+.1f}"
    # the dashed reference is the org's CSAT over every categorised item the run counted
    assert _reference_text(html) == (f"{org_value:.1f}%", str(n))
    assert "CSAT % by ticket category" in html and "csat_percent" not in _table(html, "case-mix")[0]


def test_the_case_mix_stays_what_the_run_counted_when_items_change_status(worked_example, login):
    """The audit's case: HR dismissed a flag after the run, and the overview read 473 items where the run had
    counted 472. A run's case mix is what it counted, whatever happens to the items since."""
    from appraisal.review import decide_flag
    from core.models import User
    from tests.fixtures.appraisal import WEEK

    def item(session, who: str, category: str, value: float) -> Feedback:
        return session.scalar(select(Feedback).where(
            Feedback.employee_id == worked_example.ids[who], Feedback.kind == "csat",
            Feedback.ticket_category == category, Feedback.value == value, Feedback.occurred_at >= WEEK.start
        ).limit(1))

    with _db() as session:  # a flag the run finds open: Bob's unhappy Refunds item is out of its numbers
        held = item(session, "bob", "Refunds", 2)
        held.status = "quarantined"
        flag = Flag(feedback_id=held.id, check="self_rating", reason="the agent rated themselves")
        session.add(flag)
        session.flush()
        flag_id = flag.id
    run_id = worked_example.run()
    with _db() as session:
        decide_flag(session, flag_id, session.get(User, worked_example.hr), uphold=False)  # it counts again
        later = item(session, "dan", "Billing", 4)  # and a happy Billing item is flagged after the run
        later.status = "quarantined"
        session.add(Flag(feedback_id=later.id, check="self_rating", reason="the agent rated themselves"))
    expected = _stored_case_mix(run_id)
    # Billing 7 of 8 satisfied, Refunds 3 of 6: as the run counted them
    assert {category: (n, round(value, 1)) for category, (n, value) in expected.items()} == {
        "Billing": (8, 87.5), "Refunds": (6, 50.0)}
    html = login("hr@example.com").get("/org").get_data(as_text=True)
    table = {row[0]: row[1:3] for row in _table(html, "case-mix")[1:]}
    assert table == {category: [str(n), f"{value:.1f}%"] for category, (n, value) in expected.items()}
    n, org_value = _pooled(expected)
    assert _reference_text(html) == (f"{org_value:.1f}%", str(n)) == ("71.4%", "14")


#: NPS items with a ticket category in the appraised week: Billing +75, Refunds -25, Shipping -33.3.
CATEGORISED_NPS = {"ann": {"nps": [(10, "Billing"), (10, "Billing"), (10, "Refunds"), (3, "Refunds")]},
                   "bob": {"nps": [(9, "Billing"), (8, "Billing"), (5, "Refunds"), (7, "Refunds")]},
                   "dan": {"nps": [(9, "Shipping"), (2, "Shipping"), (1, "Shipping")]}}


def _mix_chart(html: str):
    svg = re.search(r"<h2>Case mix</h2>.*?(<svg.*?</svg>)", html, re.DOTALL)
    assert svg, "no case-mix chart"
    return ET.fromstring(svg.group(1))


def test_a_case_mix_below_zero_is_drawn_below_zero_under_the_runs_guideline(worked_example, login):
    """With NPS as the case-mix metric, categories at -25 and -33.3 were drawn 0 high on an axis from 0."""
    from appraisal.guidelines import publish_guideline
    from tests.fixtures.appraisal import GUIDELINE, WEEK, _add_items

    with _db() as session:
        _add_items(session, worked_example.ids, CATEGORISED_NPS, WEEK.start, iter(range(50_000, 60_000)))
        publish_guideline(session, {**GUIDELINE, "case_mix_metric": "nps"}, note="NPS by category")
    run_id = worked_example.run()
    with _db() as session:  # the guideline in force now reads CSAT again: the page reads the run's
        publish_guideline(session, GUIDELINE, note="CSAT by category again")
    html = login("hr@example.com").get("/org").get_data(as_text=True)
    expected = _stored_case_mix(run_id)
    assert {category: round(value, 1) for category, (_, value) in expected.items()} == {
        "Billing": 75.0, "Refunds": -25.0, "Shipping": -33.3}
    table = {row[0]: row[1:3] for row in _table(html, "case-mix")[1:]}
    assert table == {category: [str(n), f"{value:+.1f}"] for category, (n, value) in expected.items()}

    chart = _mix_chart(html)
    bars = {rect.find(f"{SVG}title").text.split(":")[0]: (float(rect.get("y")), float(rect.get("height")))
            for rect in chart.iter(f"{SVG}rect")}
    assert all(height > 0 for _, height in bars.values())
    (zero,) = [float(line.get("y1")) for line in chart.iter(f"{SVG}line") if line.get("class") == "zero"]
    billing_top, billing_height = bars["Billing"]
    assert billing_height > 0 and billing_top + billing_height == pytest.approx(zero, abs=0.1)
    for category in ("Refunds", "Shipping"):
        top, height = bars[category]
        assert height > 0 and top == pytest.approx(zero, abs=0.1), category  # hanging down from zero
    # to scale: Shipping's bar is 4/3 of Refunds', Billing's 3 times Refunds'
    assert bars["Shipping"][1] / bars["Refunds"][1] == pytest.approx(4 / 3, abs=0.02)
    assert billing_height / bars["Refunds"][1] == pytest.approx(3, abs=0.02)


def test_bad_or_empty_choices_are_explained(worked_example, login):
    client = login("hr@example.com")
    assert "No completed week appraisal yet" in client.get("/org").get_data(as_text=True)
    get_session().rollback()  # the request's shared session lets go of SQLite's lock (see _db)
    worked_example.run()
    response = client.get("/org?kind=year")
    assert response.status_code == 400 and "kind: choose week, month, quarter, or a run" in response.get_data(as_text=True)
    assert "No completed month appraisal yet" in client.get("/org?kind=month").get_data(as_text=True)
    assert client.get("/org?team=x").status_code == 400
    assert "team: no results for team 999" in client.get("/org?team=999").get_data(as_text=True)
    too_many = client.get("/org?" + "&".join(f"team={n}" for n in range(1, 6)))
    assert too_many.status_code == 400 and "at most 4 teams" in too_many.get_data(as_text=True)


def test_a_run_chosen_on_the_runs_page_opens_here_a_custom_period_s_too(worked_example, login):
    """A custom run could not be read anywhere: the overview took only weeks, months and quarters, and the runs
    page linked nowhere."""
    from appraisal.periods import period_between

    week = worked_example.run()
    custom = worked_example.run(period=period_between(date(2026, 11, 2), date(2026, 11, 5), "custom"))
    client = login("hr@example.com")
    runs = client.get("/runs").get_data(as_text=True)
    for run in (week, custom):
        assert f'href="/org?run={run}"' in runs and f'href="/report/team?run={run}"' in runs
    html = " ".join(client.get(f"/org?run={custom}").get_data(as_text=True).split())
    assert f"Run {custom} under guideline v1" in html and "chosen on the" in html
    assert "<h2>Custom 2026-11-02 to 2026-11-05</h2>" in html
    with _db() as session:
        mean = session.scalar(select(func.avg(AppraisalResult.composite)).where(AppraisalResult.run_id == custom))
    assert f'data-figure="mean-composite">{mean:.1f}<' in html
    team = client.get(f"/report/team?run={custom}").get_data(as_text=True)
    assert "weekly digest" not in team and "weekly digest" in client.get(f"/report/team?run={week}").get_data(
        as_text=True)
    assert client.get("/org?run=999").status_code == 404
    assert client.get("/org?run=x").status_code == 400


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
