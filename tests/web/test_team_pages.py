"""The managers' pages: the team dashboard, targets, responses by employee and the unattributed queue.

Numbers are those of the worked example (tests/appraisal/test_by_hand.py); Mia leads Support (Ann, Bob, Cat),
Dan is in Billing, which she does not lead.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalResult, MetricResult, Target
from core.db import transaction
from core.models import AuditEntry, Employee, Feedback, Team, User
from tests.fixtures.app import statements_of_page
from tests.fixtures.appraisal import GUIDELINE, ORG_MEAN, WEEK
from tests.fixtures.org import csrf_token

PAGES = ("/team", "/targets", "/team/responses", "/unattributed")


pytestmark = pytest.mark.usefixtures("session_per_request")


def _text(response) -> str:
    """The page's visible text, tags and charts taken out, whitespace squeezed."""
    page = re.sub(r"<svg.*?</svg>|<datalist.*?</datalist>|<select.*?</select>", " ",
                  response.get_data(as_text=True), flags=re.DOTALL)
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    return re.sub(r" ([,.])", r"\1", text)


def _row(response, name: str) -> str:
    """The text of the table row whose first cell names ``name``."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", response.get_data(as_text=True), flags=re.DOTALL):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.DOTALL)
        if cells and re.sub(r"<[^>]+>|\s+", "", cells[0]) == name.replace(" ", ""):
            return re.sub(r"\s+", " ", html.unescape(re.sub(r"<svg.*?</svg>|<[^>]+>", " ", row, flags=re.DOTALL)))
    raise AssertionError(f"no row for {name}")


def _team_id(slug: str) -> int:
    with transaction() as session:
        return session.scalar(select(Team.id).where(Team.slug == slug))


def _waiting_item() -> int:
    with transaction() as session:
        return session.scalar(select(Feedback.id).where(Feedback.employee_id.is_(None)))


# Who sees what.

def test_mia_sees_support_and_nothing_of_billing(client, login, worked_example):
    worked_example.run()
    login("mia@example.com")
    page = client.get("/team")
    assert page.status_code == 200
    text = _text(page)
    assert all(name in text for name in ("Ann", "Bob", "Cat")) and "Dan" not in text
    assert client.get(f"/team?team={_team_id('billing')}").status_code == 403
    assert client.get(f"/team/responses?employee={worked_example.ids['dan']}").status_code == 403
    assert client.get(f"/team/responses?employee={worked_example.ids['ann']}").status_code == 200
    assert client.get("/team?team=99999").status_code == 404
    picker = _text(client.get("/team/responses"))
    assert "Ann (Support)" in client.get("/team/responses").get_data(as_text=True) and "Dan" not in picker
    targets = client.get("/targets").get_data(as_text=True)
    assert "Dan" not in targets and "Billing" not in targets


def test_employees_and_admins_are_refused_every_team_page(client, login, worked_example):
    for email in ("ann@example.com", "admin@example.com"):
        login(email)
        for path in PAGES:
            assert client.get(path).status_code == 403, (email, path)
        assert client.post(f"/unattributed/{_waiting_item()}/organisation",
                           data={"csrf_token": csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))}
                           ).status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))})
    assert client.get("/team").status_code == 302  # signed out: to the sign-in page


def test_hr_picks_any_team(client, login, worked_example):
    worked_example.run()
    login("hr@example.com")
    picker = _text(client.get("/team"))
    assert "Choose a team" in picker and "Billing" in picker and "Support" in picker
    billing = client.get(f"/team?team={_team_id('billing')}")
    assert "Dan" in _text(billing) and "Ann" not in _text(billing)
    assert client.get(f"/team/responses?employee={worked_example.ids['dan']}").status_code == 200


@pytest.mark.parametrize("query, parameter", [
    ("/team?team=support", "team"), ("/team?kind=year", "kind"), ("/team?team=0", "team"),
    ("/targets?show=mine", "show"), ("/targets?page=9", "page"), ("/unattributed?page=x", "page"),
    ("/team/responses?employee=ann", "employee"), ("/team/responses?employee={ann}&from=2026-13-01", "from"),
    ("/team/responses?employee={ann}&from=2026-11-08&to=2026-11-01", "to"),
    ("/team/responses?employee={ann}&kind=tweet", "kind"), ("/team/responses?employee={ann}&page=2", "page"),
])
def test_a_wrong_query_parameter_is_a_400_naming_it(client, login, worked_example, query, parameter):
    login("mia@example.com")
    response = client.get(query.format(ann=worked_example.ids["ann"]))
    assert response.status_code == 400
    assert f"{parameter}:" in _text(response)


# The dashboard.

def test_the_dashboard_shows_the_worked_example_run(client, login, worked_example):
    worked_example.run()
    login("mia@example.com")
    page = client.get("/team")
    text = _text(page)
    assert "2026-11-02 to 2026-11-08" in text and "guideline v1" in text
    ann, bob, cat = (_row(page, name) for name in ("Ann", "Bob", "Cat"))
    # composite, rank of peers, percentile, CSAT% with n and Wilson interval, target and attainment, change
    assert f"{70 + 5 / 6:.1f} 1 of 3 100.0 75.0% n = 4 30.1% – 95.4% target 80.0%: below" in ann
    assert "+25.0 n = 4" in ann and "not all met" in ann and f"{70 + 5 / 6 - 250 / 3:+.1f}" in ann
    assert f"{70 + 5 / 12:.1f} 2 of 3 50.0 {200 / 3:.1f}% n = 6" in bob
    assert "target 65.0%: met" in bob and "all met" in bob and f"{70 + 5 / 12 - 50 / 3:+.1f}" in bob
    assert "too few – – too few n = 2 target 65.0%: too few to judge too few n = 0" in cat
    team_mean, org_mean = _row(page, "Team mean"), _row(page, "Organisation mean")
    assert f"{(70 + 5 / 6 + 70 + 5 / 12) / 2:.1f} 75.0% +37.5" in team_mean
    assert f"{ORG_MEAN:.1f} {200 / 3:.1f}% +25.0" in org_mean
    # a team chart and one figure per employee with a composite
    body = page.get_data(as_text=True)
    assert 'aria-label="Mean composite of Support and of the organisation, last 1 weeks"' in body
    assert "Ann&#39;s composite, last 1 weeks: 70.8" in body and body.count('class="spark"') == 2


def test_a_team_with_teams_below_shows_all_their_people_and_pools_them(client, login, worked_example):
    """Customer Service has no people of its own; Support (Ann, Bob, Cat) and Billing (Dan) are below it."""
    with transaction() as session:
        parent = Team(name="Customer Service", slug="customer-service")
        empty = Team(name="Night Shift", slug="night-shift")
        session.add_all([parent, empty])
        session.flush()
        for team in session.scalars(select(Team).where(Team.slug.in_(["support", "billing"]))):
            team.parent_id = parent.id
    worked_example.run()
    login("hr@example.com")
    page = client.get(f"/team?team={_team_id('customer-service')}")
    assert page.status_code == 200
    assert "Customer Service and the teams below it" in _text(page)
    assert f"{70 + 5 / 6:.1f} 1 of 3" in _row(page, "Ann Support") and "Dan Billing" in _text(page)
    assert "too few" in _row(page, "Cat Support")
    # Composite: the mean of Ann's, Bob's and Dan's (Cat has too few), as the organisation's. CSAT%: 12 of
    # their 17 answers satisfied; the organisation's also counts one unattributed dissatisfied answer, 12 of 18.
    # NPS: 6 promoters and 3 detractors of 12 answers, as the organisation's.
    assert f"{ORG_MEAN:.1f} {1200 / 17:.1f}% +25.0" in _row(page, "Team mean")
    assert f"{ORG_MEAN:.1f} {200 / 3:.1f}% +25.0" in _row(page, "Organisation mean")
    # the table is the run's, as its means are: someone who has left since is still listed with their result
    with transaction() as session:
        session.get(Employee, worked_example.ids["bob"]).active = False
    after = client.get(f"/team?team={_team_id('customer-service')}")
    assert "Bob Support 70.4" in _text(after)
    assert f"{ORG_MEAN:.1f} {1200 / 17:.1f}% +25.0" in _row(after, "Team mean")
    assert "75.0% +37.5" in _row(client.get(f"/team?team={_team_id('support')}"), "Team mean")
    # Dan alone in Billing: no team mean stored for him (it would be his own), but his team's figure shown
    assert f"{1235 / 21:.1f} 60.0% +0.0" in _row(client.get(f"/team?team={_team_id('billing')}"), "Team mean")
    # a team without people still shows the organisation's figures
    night = client.get(f"/team?team={_team_id('night-shift')}")
    assert "Nobody is in Night Shift." in _text(night)
    assert f"{ORG_MEAN:.1f} {200 / 3:.1f}% +25.0" in _row(night, "Organisation mean")


def test_the_trend_follows_the_last_completed_runs_of_the_kind(client, login, worked_example):
    worked_example.run(period=WEEK.previous())
    worked_example.run()
    worked_example.run()  # a re-run of the same week: the latest request stands, once
    login("mia@example.com")
    page = client.get("/team")
    body = page.get_data(as_text=True)
    assert f"Ann&#39;s composite, last 2 weeks: {250 / 3:.1f}, {70 + 5 / 6:.1f}" in body
    assert "Bob&#39;s composite, last 2 weeks: 16.7, 70.4" in body
    assert "no completed" not in _text(page)
    # The trend chart's numbers, as a table beside it, for whoever cannot see the lines
    numbers = re.search(r'<details class="chart-numbers">(.*?)</details>', body, re.DOTALL).group(1)
    assert re.findall(r'<th scope="row">([^<]+)</th>', numbers) == ["Support", "Organisation"]
    month = _text(client.get("/team?kind=month"))
    assert "No month has been appraised yet" in month and "Ann" in month


# Targets.

def test_targets_list_attainment_in_the_latest_run(client, login, worked_example):
    login("mia@example.com")
    before = _text(client.get("/targets"))
    assert "not appraised yet" in before
    worked_example.run()
    text = _text(client.get("/targets"))
    assert "Ann CSAT % month 2026-11-01 to 2026-11-30 80.0% below at 75.0% (week 2026-11-02 to 2026-11-08)" in text
    assert "Support (team) CSAT % month 2026-11-01 to 2026-11-30 65.0% 1 met, 1 too few to judge" in text


def test_a_managers_own_target_links_to_their_report_not_to_a_page_they_may_not_open(client, login,
                                                                                     worked_example):
    """A lead in the team they lead saw their own target linked to the team's responses page, which leaves
    their own feedback out (403)."""
    from appraisal.periods import month_of
    from appraisal.targets import set_target
    from core.models import Employee, User

    with transaction() as session:
        mia = session.get(User, worked_example.manager)
        support = session.get(Employee, worked_example.ids["ann"]).team_id
        session.get(Employee, mia.employee_id).team_id = support  # Mia leads Support and works in it
        set_target(session, session.get(User, worked_example.hr), metric="csat_percent",
                   period=month_of(WEEK.start.date()), value=70, employee=session.get(Employee, mia.employee_id))
        own = mia.employee_id
    login("mia@example.com")
    page = client.get("/targets").get_data(as_text=True)
    assert f"/team/responses?employee={own}" not in page and 'href="/report">Mia' in page
    assert f'href="/team/responses?employee={worked_example.ids["ann"]}">Ann' in page


def test_a_months_target_shows_the_months_run_once_there_is_one(client, login, worked_example):
    """The month's run, not a week's run computed after it (whose period starts later), says how the month went."""
    from appraisal.periods import month_of

    worked_example.run(period=month_of(WEEK.start.date()))
    worked_example.run()
    login("mia@example.com")
    text = _text(client.get("/targets"))
    assert "Ann CSAT % month 2026-11-01 to 2026-11-30 80.0% below at 75.0% (month 2026-11-01 to 2026-11-30)" in text


def test_a_target_stored_before_periods_were_bounded_still_lists(client, login, worked_example):
    """The API took any span until periods were bounded to ten years: such a target made the page a 500."""
    from datetime import UTC, datetime

    with transaction() as session:
        session.add(Target(metric="nps", employee_id=worked_example.ids["bob"], value=5, set_by=worked_example.hr,
                           period_start=datetime(2026, 1, 1, tzinfo=UTC), period_end=datetime(2100, 1, 1, tzinfo=UTC)))
    login("mia@example.com")
    page = client.get("/targets")
    assert page.status_code == 200 and "Bob NPS custom 2026-01-01 to 2099-12-31" in _text(page)


def test_a_target_stored_before_its_range_was_checked_says_it_would_be_refused(client, login, worked_example):
    """An NPS of 150, stored by a version before targets were checked against the metric's range, stayed
    listed and used as if it were any other target."""
    from datetime import UTC, datetime

    with transaction() as session:
        session.add(Target(metric="nps", employee_id=worked_example.ids["bob"], value=150, set_by=worked_example.hr,
                           period_start=datetime(2026, 11, 1, tzinfo=UTC), period_end=datetime(2026, 12, 1, tzinfo=UTC)))
        session.add(Target(metric="nps", employee_id=worked_example.ids["ann"], value=40, set_by=worked_example.hr,
                           period_start=datetime(2026, 11, 1, tzinfo=UTC), period_end=datetime(2026, 12, 1, tzinfo=UTC)))
    login("mia@example.com")
    text = _text(client.get("/targets?show=all"))
    assert "would be refused today: NPS runs from -100 to 100; set it again" in text
    assert text.count("would be refused today") == 1  # Ann's 40 is fine


def _post_target(client, **fields):
    page = client.get("/targets").get_data(as_text=True)
    data = {"subject": "", "metric": "csat_percent", "period_kind": "month", "day": "2026-11-02", "value": "70",
            **fields, "csrf_token": csrf_token(page)}
    return client.post("/targets", data=data)


def _targets_and_audits() -> tuple[list, int]:
    with transaction() as session:
        targets = session.execute(select(Target.metric, Target.employee_id, Target.team_id, Target.value)
                                  .order_by(Target.id)).all()
        return targets, session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize("fields, field, message", [
    ({"value": "lots"}, "value", "give a number"),
    ({"value": "150"}, "value", "CSAT % runs from 0 to 100"),
    ({"value": "nan"}, "value", "give a number"),
    ({"value": "1.000,5"}, "value", "give a number"),  # a thousands mark is not guessed at
    ({"value": "1,000"}, "value", "give a number"),  # a thousand, or one? Not guessed either
    ({"metric": "csat_pct"}, "metric", "'csat_pct' is not in the guideline in force"),
    ({"day": "2 November"}, "day", "YYYY-MM-DD"),
    ({"day": "9999-12-31"}, "day", "outside the days a period may hold"),  # was a 500
    ({"period_kind": "year"}, "period_kind", "choose from week, month, quarter"),
    ({"subject": "person:1"}, "subject", "choose a team or an employee"),
    ({"subject": "employee:99999"}, "subject", "no such employee"),
])
def test_a_bad_target_shows_the_field_error_and_stores_nothing(client, login, worked_example, fields, field,
                                                               message):
    login("mia@example.com")
    fields.setdefault("subject", f"employee:{worked_example.ids['ann']}")
    before = _targets_and_audits()
    response = _post_target(client, **fields)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', body)
    assert error and message in html.unescape(error.group(1)), body
    assert f'id="{field}" name="{field}"' in body and 'aria-invalid="true"' in body
    assert _targets_and_audits() == before


def test_hr_bounds_are_shown_at_the_value(client, login, worked_example):
    with transaction() as session:
        document = {**GUIDELINE, "metrics": [{"rule": "csat_percent", "weight": 60,
                                              "target_bounds": {"min": 50, "max": 95}},
                                             {"rule": "nps", "weight": 40}]}
        publish_guideline(session, document, actor=session.get(User, worked_example.hr))
    login("mia@example.com")
    before = _targets_and_audits()
    response = _post_target(client, subject=f"employee:{worked_example.ids['ann']}", value="99")
    assert response.status_code == 400
    assert "HR allows targets from 50 to 95 for CSAT %" in _text(response)
    assert _targets_and_audits() == before


def test_a_manager_may_not_target_others_people(client, login, worked_example):
    login("mia@example.com")
    before = _targets_and_audits()
    for subject in (f"employee:{worked_example.ids['dan']}", f"team:{_team_id('billing')}"):
        assert _post_target(client, subject=subject).status_code == 403
    assert _targets_and_audits() == before


def test_a_manager_sets_a_target_and_it_is_audited(client, login, worked_example):
    login("mia@example.com")
    response = _post_target(client, subject=f"employee:{worked_example.ids['bob']}", period_kind="week",
                            value="72,5")  # a decimal comma, as a European phone's number pad offers
    # The week has ended: to the list with the ended targets, which holds it (the current list did not)
    assert response.status_code == 303 and response.headers["Location"].endswith("/targets?show=all")
    page = client.get(response.headers["Location"])
    assert re.search(r'<tr[^>]*>\s*<td[^>]*>.*?Bob.*?72\.5', page.get_data(as_text=True), re.DOTALL)
    assert "Target set: CSAT % 72.5 for Bob, week 2026-11-02 to 2026-11-08." in _text(page)
    with transaction() as session:
        target = session.scalar(select(Target).where(Target.employee_id == worked_example.ids["bob"]))
        assert (target.value, target.set_by, target.period_start.date().isoformat()) == (
            72.5, worked_example.manager, "2026-11-02")
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "target.set",
                                                        AuditEntry.entity_id == str(target.id)))
        assert audit.actor_id == worked_example.manager and audit.after["value"] == 72.5

    # Changed once the week was appraised: the manager is told it counts only when HR runs it again.
    run = worked_example.run()
    _post_target(client, subject=f"employee:{worked_example.ids['bob']}", period_kind="week", value="80")
    assert (f"Target changed: CSAT % from 72.5 to 80 for Bob, week 2026-11-02 to 2026-11-08. This period was "
            f"appraised already (run {run}): its runs keep the targets they were computed with, and this one "
            f"counts when HR appraises the period again.") in _text(client.get("/targets"))


# Responses.

def test_responses_of_one_employee_newest_first_and_filtered(client, login, worked_example):
    login("mia@example.com")
    ann = worked_example.ids["ann"]
    page = client.get(f"/team/responses?employee={ann}")
    rows = re.findall(r'<td class="date">([^<]+)</td>', page.get_data(as_text=True))
    assert len(rows) == 16 and rows == sorted(rows, reverse=True)  # 8 this week, 8 the week before
    assert "16 items" in _text(page)
    this_week = _text(client.get(f"/team/responses?employee={ann}&kind=nps&from=2026-11-02&to=2026-11-08"))
    assert "4 items" in this_week and "csat" not in this_week.split("Status")[1]
    only_day = client.get(f"/team/responses?employee={ann}&from=2026-11-03&to=2026-11-03")
    assert "2 items" in _text(only_day)  # one CSAT and one NPS answer on Tuesday
    far = client.get(f"/team/responses?employee={ann}&from=0001-01-01&to=9999-12-31")  # was a 500
    assert far.status_code == 400 and "from: 0001-01-01 is outside the days" in _text(far)


def test_a_manager_reads_their_own_feedback_on_their_report_not_verbatim_here(client, login, worked_example):
    """With comment_visibility none, a manager who is appraised too read their customers' comments here."""
    with transaction() as session:
        mia = session.scalar(select(User).where(User.email == "mia@example.com"))
        # As in the demo: the manager works in the team she leads, so the page's scope holds her
        employee = session.get(Employee, mia.employee_id)
        employee.team_id = session.get(Employee, worked_example.ids["ann"]).team_id
        own = employee.id
    login("mia@example.com")
    response = client.get(f"/team/responses?employee={own}")
    assert response.status_code == 403 and "your own feedback is on your report" in _text(response)


# Query counts: the same with three people as with three hundred.

def _grow(worked_example, run_id: int, people: int = 300) -> None:
    """Add ``people`` employees to Support with results in the run, targets, answers and unattributed items."""
    with transaction() as session:
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
        session.execute(insert(Employee), [{"name": f"Agent {n:03}", "email": f"agent{n}@example.com",
                                            "team_id": support} for n in range(people)])
        ids = list(session.scalars(select(Employee.id).where(Employee.email.like("agent%"))))
        session.execute(insert(AppraisalResult), [
            {"run_id": run_id, "employee_id": e, "team_id": support, "state": "ok", "composite": 50.0 + n % 40,
             "weight_covered": 100.0, "rank": n + 4, "percentile": 50.0, "peers": people + 3, "team_mean": 70.0,
             "org_mean": 65.0, "targets_state": "met", "attainment_streak": 1, "case_mix": {},
             "training_needs": []} for n, e in enumerate(ids)])
        session.execute(insert(Target), [{"metric": "csat_percent", "employee_id": e, "value": 70.0,
                                          "period_start": WEEK.start, "period_end": WEEK.end,
                                          "set_by": worked_example.manager} for e in ids])
        targets = {employee: target for employee, target in session.execute(
            select(Target.employee_id, Target.id).where(Target.employee_id.in_(ids)))}
        session.execute(insert(MetricResult), [
            {"run_id": run_id, "employee_id": e, "metric": metric, "weight": weight, "n": 10, "value": 70.0,
             "ci_low": 60.0, "ci_high": 80.0, "sufficient": True, "shrunk": 70.0, "normalised": 70.0,
             "team_mean": 75.0, "org_mean": 66.0, "previous_n": 0, "target": 70.0 if metric == "csat_percent"
             else None, "target_id": targets[e] if metric == "csat_percent" else None,
             "attainment": "met" if metric == "csat_percent" else None}
            for e in ids for metric, weight in (("csat_percent", 60.0), ("nps", 40.0))])
        session.execute(insert(Feedback), [
            {"channel": "test", "kind": "csat", "external_id": f"bulk-{n}", "value": 4.0, "scale_min": 1.0,
             "scale_max": 5.0, "occurred_at": WEEK.start + timedelta(minutes=n), "status": "accepted",
             "payload": {}, "employee_id": worked_example.ids["ann"] if n % 2 else None,
             "comment": f"answer {n}"} for n in range(2 * people)])


def _queries(app, client, path: str) -> int:
    return statements_of_page(app, client, path)


def test_every_team_page_issues_the_same_queries_for_a_small_and_a_large_team(app, client, login,
                                                                              worked_example):
    run_id = worked_example.run()
    paths = ["/team", "/team?kind=week", "/targets?show=all", "/team/responses",
             f"/team/responses?employee={worked_example.ids['ann']}", "/unattributed"]
    login("mia@example.com")
    small = {path: _queries(app, client, path) for path in paths}
    _grow(worked_example, run_id)
    large = {path: _queries(app, client, path) for path in paths}
    assert large == small
    assert "Agent 299" in _text(client.get("/team")) and "Page 1 of 7" in _text(client.get("/targets?show=all"))
    assert "Page 1 of 7" in _text(client.get(f"/team/responses?employee={worked_example.ids['ann']}"))
    assert "301 waiting" in _text(client.get("/unattributed"))
