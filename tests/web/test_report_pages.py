"""Employees' reports on the web: the worked example's numbers, who may read whose, comments, disputes."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalResult, AppraisalRun
from appraisal.report import employee_report
from core.db import transaction
from core.models import (
    AuditEntry,
    Dispute,
    Employee,
    Feedback,
    Team,
    User,
)
from core.plugins import get_plugins
from tests.fixtures.app import row_counts, statements_of_page
from tests.fixtures.appraisal import BEFORE, GUIDELINE, ORG_MEAN, WEEK
from tests.fixtures.org import csrf_token

APPROX = {"abs": 1e-6}


pytestmark = pytest.mark.usefixtures("session_per_request")


def _figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert match, f"no {name} on the page"
    return match.group(1).strip()


def _metric_cells(html: str, metric: str) -> dict[str, str]:
    row = re.search(rf'<tr data-metric="{metric}">(.*?)</tr>', html, re.DOTALL).group(1)
    return {field: re.sub(r"<[^>]+>", "", text).strip()
            for field, text in re.findall(r'data-field="(\w+)">(.*?)</td>', row, re.DOTALL)}


def _own_items(name: str) -> list[int]:
    with transaction() as session:
        employee = session.scalar(select(Employee.id).where(Employee.email == f"{name}@example.com"))
        return list(session.scalars(select(Feedback.id).where(Feedback.employee_id == employee,
                                                              Feedback.occurred_at >= WEEK.start)
                                    .order_by(Feedback.id)))


# --- the numbers --------------------------------------------------------------------------------------------


def test_the_report_holds_the_worked_examples_hand_numbers(worked_example, app):
    run_id = worked_example.run()
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        # Her manager's view: every mean (Ann's own leaves out the one that is Bob's figure, below)
        report = employee_report(session, run, worked_example.ids["ann"], get_plugins().scoring_rules,
                                 audience="manager")
    assert report["composite"] == pytest.approx(70 + 5 / 6, **APPROX)
    assert report["team_mean"] == pytest.approx((70 + 5 / 6 + 70 + 5 / 12) / 2, **APPROX)
    assert report["org_mean"] == pytest.approx(ORG_MEAN, **APPROX)
    assert (report["rank"], report["percentile"], report["peers"]) == (1, 100.0, 3)
    assert report["change"] == pytest.approx(70 + 5 / 6 - 250 / 3, **APPROX)
    csat, nps = report["metrics"]
    assert (csat["name"], csat["n"], csat["sufficient"]) == ("csat_percent", 4, True)
    assert csat["value"] == pytest.approx(75, **APPROX)
    assert [round(x, 2) for x in csat["ci"]] == [30.06, 95.44]
    assert csat["team_mean"] == pytest.approx(75, **APPROX)
    assert csat["org_mean"] == pytest.approx(200 / 3, **APPROX)
    assert nps["value"] == pytest.approx(25, **APPROX) and nps["team_mean"] == pytest.approx(37.5, **APPROX)
    assert [(t["name"], t["target"], t["attainment"]) for t in report["targets"]] == [("csat_percent", 80, "below")]
    assert report["trend"]["composite"]["you"] == [pytest.approx(70 + 5 / 6, **APPROX)]
    with transaction() as session:
        own = employee_report(session, session.get(AppraisalRun, run_id), worked_example.ids["ann"],
                              get_plugins().scoring_rules)
    # Ann sees what was decided: recognition (approved), not the bonus still awaiting approval.
    assert [(r["kind"], r["status"]) for r in own["recommendations"]] == [("recognition", "approved")]
    # The composite's team mean pools her and Bob (Cat has too few items), NPS's too: from them she would
    # read Bob's figures. CSAT's pools Bob and Cat besides her, the organisation's everyone.
    assert (own["team_mean"], own["metrics"][1]["team_mean"], own["means_withheld"]) == (None, None, True)
    assert own["metrics"][0]["team_mean"] == pytest.approx(75, **APPROX)
    assert own["org_mean"] == pytest.approx(ORG_MEAN, **APPROX) and own["trend"]["composite"]["team"] == [None]


def test_ann_reads_her_report_on_the_page(worked_example, as_user):
    worked_example.run(period=BEFORE)
    worked_example.run()
    html = as_user("ann@example.com").get("/report").get_data(as_text=True)
    assert "Your report" in html and "Week 2 to 8 November 2026" in html
    assert [_figure(html, f) for f in ("composite", "team-mean", "org-mean", "rank", "percentile", "change")] == [
        "70.8", "–", "66.7", "1 of 3", "percentile 100.0", "-12.5"]  # the team mean would be Bob's
    assert _metric_cells(html, "csat_percent") == {"value": "75.0%", "n": "4", "interval": "30.1% to 95.4%",
                                                   "team": "75.0%", "org": "66.7%", "change": "-25.0"}
    assert _metric_cells(html, "nps")["value"] == "+25.0" and _metric_cells(html, "nps")["team"] == "–"
    assert "A mean shown as – pools fewer than 2 colleagues besides you" in html
    assert re.search(r'data-target="csat_percent">.*?80\.0%.*?below target', html, re.DOTALL)
    assert 'data-recommendation="recognition"' in html and 'data-recommendation="bonus"' not in html
    # The trend covers both weeks: her composite fell from 83.3 to 70.8.
    assert html.count('<svg class="chart"') == 3  # composite, CSAT %, NPS
    assert "Your composite over the last 2 weeks" in html
    # Nothing about a colleague: no name, no colleague's item.
    assert not re.search(r"\b(Bob|Cat|Dan)\b", html)
    assert all(f'id="item-{item}"' not in html for item in _own_items("bob"))


def test_the_report_shows_the_case_mix_the_run_stored(worked_example, as_user):
    """Ann: Billing 5, 5 (100%) and Refunds 4, 3 (50%). The organisation: Billing 5 5 5 4 1 4 4 4 (7 of 8) and
    Refunds 4 3 4 4 2 1 1 (3 of 7), so on Ann's two and two it would score (87.5 + 42.9) / 2."""
    worked_example.run()
    ann = as_user("ann@example.com")
    html = " ".join(ann.get("/report").get_data(as_text=True).split())
    assert "Case mix: CSAT % by ticket category" in html
    expected = (7 / 8 * 100 + 3 / 7 * 100) / 2
    assert (f"the organisation scores {expected:.1f}%; you scored 75.0%, {75 - expected:.1f} better than that"
            in html)
    billing = re.search(r'<tr data-category="Billing">(.*?)</tr>', html).group(1)
    assert re.findall(r'class="num[^"]*">([^<]+)<', billing) == ["2", "100.0%", "87.5%", "+12.5"]

    # On fewer items than the metric needs, the gap is not told as a finding.
    with transaction() as session:
        result = session.scalar(select(AppraisalResult).where(AppraisalResult.employee_id == worked_example.ids["ann"]))
        result.case_mix = {**result.case_mix, "n": 3}
    html = " ".join(ann.get("/report").get_data(as_text=True).split())
    assert "you scored 75.0%. That is too few items to tell better from worse (4 are needed" in html
    assert "better than that" not in html


def test_a_category_of_one_colleague_besides_the_reader_is_not_shown_to_them(worked_example, as_user):
    """Every other mean of fewer than two colleagues was withheld, but the case mix showed the organisation's
    figure of a category where the reader and one colleague had items: that colleague's own score."""
    worked_example.run()
    with transaction() as session:
        for name in ("ann", "dan"):  # as if one colleague besides each had answers about refunds
            result = session.scalar(select(AppraisalResult).where(
                AppraisalResult.employee_id == worked_example.ids[name]))
            result.case_mix = {**result.case_mix, "categories": [
                {**row, "org_people": 2} if row["category"] == "Refunds" else row
                for row in result.case_mix["categories"]]}
            result.training_needs = [{**need, "org_people": 2} if need["name"] == "Refunds" else need
                                     for need in result.training_needs]
    html = " ".join(as_user("ann@example.com").get("/report").get_data(as_text=True).split())
    refunds = re.search(r'<tr data-category="Refunds">(.*?)</tr>', html).group(1)
    assert re.findall(r'class="num[^"]*">([^<]+)<', refunds) == ["2", "50.0%", "–", "–"]
    billing = re.search(r'<tr data-category="Billing">(.*?)</tr>', html).group(1)
    assert re.findall(r'class="num[^"]*">([^<]+)<', billing) == ["2", "100.0%", "87.5%", "+12.5"]
    assert "What the organisation scores on this mix is not shown" in html
    assert "with a category) the organisation scores" not in html
    assert "42.9" not in html
    # Dan's training need in refunds names no benchmark; his manager and HR still read every figure.
    dan = " ".join(as_user("dan@example.com").get("/report").get_data(as_text=True).split())
    assert ("against the organisation's mean for this category (not shown: it pools fewer than 2 colleagues)"
            in dan) and "42.9" not in dan  # nor in the reason of the training recommended, stored with the run
    assert ("training on Refunds: CSAT % 0.0 over 2 item(s), below the org&#39;s mean (not shown: too few "
            "colleagues)") in dan
    hr = " ".join(as_user("hr@example.com").get(f"/report/{worked_example.ids['dan']}").get_data(as_text=True)
                  .split())
    assert "42.9, the organisation's mean for this category" in hr


def test_the_report_says_how_sure_an_interval_is_and_over_whom_ranks_run(worked_example, as_user):
    def publish(change):
        document = GUIDELINE | change
        with transaction() as session:
            publish_guideline(session, document, note="audit")

    publish({"confidence_level": 0.9, "ranking_scope": "team"})
    worked_example.run()
    html = " ".join(as_user("ann@example.com").get("/report").get_data(as_text=True).split())
    assert "<th>90% interval</th>" in html and "95%" not in html
    assert "Ranks are among the people ranked in your team" in html


def test_a_period_run_again_is_offered_once_by_its_latest_run(worked_example, as_user):
    """Five runs of one week were five identical entries in the period picker."""
    earlier = worked_example.run(period=BEFORE)
    first = worked_example.run()
    latest = worked_example.run()
    client = as_user("ann@example.com")
    html = client.get("/report").get_data(as_text=True)
    assert re.findall(r'<option value="(\d+)"', html) == [str(latest), str(earlier)]
    old = client.get(f"/report?run={first}").get_data(as_text=True)
    assert f"This is run {first}, an earlier run of this period: a later run replaced it." in old


def test_someone_not_in_a_run_is_not_told_a_later_run_replaced_it(worked_example, as_user):
    """A person who joined after the period's only run read that a later run had replaced it, once a run of
    another period held them."""
    run_id = worked_example.run(period=BEFORE)
    with transaction() as session:
        support = session.scalar(select(Employee.team_id).where(Employee.id == worked_example.ids["ann"]))
        newcomer = Employee(name="Stewart", email="stewart@example.com", team_id=support)
        session.add(newcomer)
        session.flush()
        newcomer_id = newcomer.id
    worked_example.run()
    html = " ".join(as_user("hr@example.com").get(f"/report/{newcomer_id}?run={run_id}").get_data(as_text=True)
                    .split())
    assert "Stewart was not appraised in this run" in html
    assert "replaced it" not in html


def test_too_few_items_shows_as_such_not_as_a_number(worked_example, as_user):
    worked_example.run(period=BEFORE)
    worked_example.run()
    html = as_user("mia@example.com").get(f"/report/{worked_example.ids['cat']}").get_data(as_text=True)
    assert _figure(html, "composite") == "too few items"
    assert _metric_cells(html, "csat_percent")["value"] == "too few (2 of 4 needed)"
    assert "Cat&#39;s composite over the last 2 weeks" in html and "Your composite" not in html  # Mia reads Cat's
    assert "not judged: too few items" in html  # the team's target of 65 cannot be judged on two answers


# --- who sees whose -------------------------------------------------------------------------------------------


def test_each_role_reads_only_the_reports_it_may(worked_example, as_user):
    worked_example.run()
    ids = worked_example.ids
    expected = {
        "ann@example.com": {"ann": 200, "bob": 403, "dan": 403},
        "mia@example.com": {"ann": 200, "bob": 200, "cat": 200, "dan": 403},  # Dan's Billing is not Mia's
        "hr@example.com": {"ann": 200, "dan": 200},
        "admin@example.com": {"ann": 403},  # admins run the system; they do not read appraisals
    }
    for email, reports in expected.items():
        client = as_user(email)
        got = {name: client.get(f"/report/{ids[name]}").status_code for name in reports}
        assert got == reports, email
    # An id nobody has reads as one someone else has (it said 404 to Ann, 403 for a colleague: which ids exist)
    missing = as_user("ann@example.com").get("/report/999999")
    assert missing.status_code == 403 and "this person is not one of them" in missing.get_data(as_text=True)
    assert as_user("hr@example.com").get("/report/999999").status_code == 404  # HR sees everyone anyway


def test_a_manager_reads_comments_as_written_and_every_recommendation(worked_example, as_user):
    worked_example.run()
    html = as_user("mia@example.com").get(f"/report/{worked_example.ids['ann']}").get_data(as_text=True)
    assert "Ann&#39;s report" in html
    assert 'data-recommendation="bonus"' in html and "proposed" in html
    assert 'name="feedback_id"' not in html  # only the employee disputes their own items


def test_an_account_without_an_employee_record_gets_an_explanation(worked_example, as_user):
    worked_example.run()
    response = as_user("hr@example.com").get("/report")
    assert response.status_code == 200
    assert "not linked to an employee record" in response.get_data(as_text=True)


def test_bad_run_parameters_name_the_field(worked_example, as_user):
    run_id = worked_example.run()
    client = as_user("ann@example.com")
    response = client.get("/report?run=last")
    assert response.status_code == 400 and "run: give a whole number" in response.get_data(as_text=True)
    response = client.get(f"/report?run={run_id + 100}")
    assert response.status_code == 404 and f"no completed appraisal run {run_id + 100}" in response.get_data(
        as_text=True)
    assert client.get(f"/report?run={run_id}").status_code == 200


def test_before_any_run_the_page_says_so(worked_example, as_user):
    response = as_user("ann@example.com").get("/report")
    assert response.status_code == 200 and "No appraisal has been completed yet" in response.get_data(
        as_text=True)


def test_before_any_week_the_newest_period_of_another_kind_shows(worked_example, as_user):
    """HR appraised a month before any week: the report and team pages said there was nothing to read."""
    from appraisal.periods import month_of

    worked_example.run(period=month_of(WEEK.start.date()))
    html = " ".join(as_user("ann@example.com").get("/report").get_data(as_text=True).split())
    assert "Month 1 to 30 November 2026" in html and "No appraisal has been completed yet" not in html
    team = " ".join(as_user("mia@example.com").get("/report/team").get_data(as_text=True).split())
    assert "Month 1 to 30 November 2026 · guideline v1" in team and "weekly digest" not in team


# --- comments under the policy ------------------------------------------------------------------------------


@pytest.fixture
def commented(worked_example):
    """Ann's 5 praised with an e-mail address in it, her 3 criticised with a phone number."""
    with transaction() as session:
        items = {f.value: f for f in session.scalars(select(Feedback).where(
            Feedback.employee_id == worked_example.ids["ann"], Feedback.kind == "csat",
            Feedback.occurred_at >= WEEK.start))}
        items[5.0].comment = "Ann sorted it in minutes, write to me at jo@example.org"
        items[3.0].comment = "Took three replies, call me on 0201 234 5678"
    return worked_example


@pytest.mark.parametrize("policy, praise, work_on", [
    ("redacted", ["Ann sorted it in minutes, write to me at [e-mail]"], ["Took three replies, call me on [number]"]),
    ("positive_only", ["Ann sorted it in minutes, write to me at [e-mail]"], []),
    ("all", ["Ann sorted it in minutes, write to me at jo@example.org"],
     ["Took three replies, call me on 0201 234 5678"]),
    ("none", [], []),
])
def test_the_employee_sees_the_comments_the_policy_in_force_lets_them(commented, as_user, policy, praise, work_on):
    run_id = commented.run()
    with transaction() as session:  # a later version of the guideline changes only what is shown
        publish_guideline(session, {**GUIDELINE, "comment_visibility": policy},
                          actor=session.get(User, commented.hr), note="comments")
    html = as_user("ann@example.com").get(f"/report?run={run_id}").get_data(as_text=True)

    def shown(css):
        return [re.sub(r"\s+", " ", text).strip()
                for text in re.findall(rf'<blockquote class="comment {css}"[^>]*>(.*?)<footer', html, re.DOTALL)]

    assert (shown("praise"), shown("work-on")) == (praise, work_on)
    # The manager reads them as written whatever the policy.
    html = as_user("mia@example.com").get(f"/report/{commented.ids['ann']}?run={run_id}").get_data(as_text=True)
    assert "jo@example.org" in html and "0201 234 5678" in html


# --- disputes -----------------------------------------------------------------------------------------------


def test_an_employee_disputes_their_own_item_and_it_is_audited(worked_example, as_user):
    run_id = worked_example.run()
    item = _own_items("ann")[0]
    client = as_user("ann@example.com")
    page = client.get("/report").get_data(as_text=True)
    response = client.post("/report/disputes", data={"csrf_token": csrf_token(page), "feedback_id": str(item),
                                                     "reason": "  Bob's ticket: I only added a note  ",
                                                     "run": str(run_id)})
    assert response.status_code == 302
    with transaction() as session:
        dispute = session.scalar(select(Dispute))
    # To the dispute in the list, whole width, and said there: the item's row sat in a table scrolled sideways
    # on a phone, and the confirmation at the top of the page, 6,500 px above.
    assert response.location.endswith(f"/report?run={run_id}&raised={dispute.id}#dispute-{dispute.id}")
    with transaction() as session:
        dispute = session.scalar(select(Dispute))
        assert (dispute.feedback_id, dispute.reason, dispute.status, dispute.raised_by) == (
            item, "Bob's ticket: I only added a note", "open", worked_example.users["ann"])
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "dispute.raised"))
        assert (audit.actor_id, audit.entity_id, audit.after["feedback_id"]) == (
            worked_example.users["ann"], str(dispute.id), item)
    html = client.get(response.location).get_data(as_text=True)
    confirmed = re.search(rf'<li data-dispute="{dispute.id}" id="dispute-{dispute.id}" tabindex="-1">(.*?)</li>',
                          html, re.DOTALL).group(1)
    assert "Bob&#39;s ticket: I only added a note" in confirmed and "Your dispute is recorded." in confirmed
    # Which item: its kind, time and answer, as the list of items shows it, and a link to it there.
    assert re.match(rf'<a href="#item-{item}">Item {item}</a>,\s+(csat|nps) of \w{{3}} \d\d Nov \d\d:\d\d, \S', confirmed)
    assert "Your dispute is recorded." not in client.get(f"/report?run={run_id}").get_data(as_text=True)
    assert re.search(rf'id="item-{item}"[^>]*>.*?disputed', html, re.DOTALL)
    # Once at a time per item: the second attempt names the field.
    response = client.post("/report/disputes", data={"csrf_token": csrf_token(html), "feedback_id": str(item),
                                                     "reason": "again"})
    assert response.status_code == 400
    assert f"Item: feedback {item} already has an open dispute" in response.get_data(as_text=True)


def test_a_colleagues_item_is_refused_and_bad_fields_are_named(worked_example, as_user, app):
    worked_example.run()
    client = as_user("ann@example.com")
    token = csrf_token(client.get("/report").get_data(as_text=True))
    bobs = _own_items("bob")[0]
    assert client.post("/report/disputes", data={"csrf_token": token, "feedback_id": str(bobs),
                                                 "reason": "not mine"}).status_code == 403
    response = client.post("/report/disputes", data={"csrf_token": token, "feedback_id": str(_own_items("ann")[0]),
                                                     "reason": "   "})
    assert response.status_code == 400 and "Reason: say why the item is wrong" in response.get_data(as_text=True)
    response = client.post("/report/disputes", data={"csrf_token": token, "feedback_id": "first", "reason": "x"})
    assert response.status_code == 400 and "Item: choose the item" in response.get_data(as_text=True)
    response = client.post("/report/disputes", data={"csrf_token": token, "feedback_id": str(_own_items("ann")[0]),
                                                     "reason": "x" * 2001})
    assert response.status_code == 400 and "Reason: at most 2,000 characters" in response.get_data(as_text=True)
    with transaction() as session:  # nothing half-written
        assert session.scalar(select(Dispute)) is None
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "dispute.raised")) is None
    # A manager cannot dispute for an employee either.
    client = as_user("mia@example.com")
    token = csrf_token(client.get("/report").get_data(as_text=True))
    assert client.post("/report/disputes", data={"csrf_token": token, "feedback_id": str(_own_items("ann")[0]),
                                                 "reason": "on her behalf"}).status_code == 403


def test_a_reason_at_the_limit_over_several_lines_is_taken_as_typed(worked_example, as_user):
    """The box's maxlength counts a line break as one character and the browser sends it as two (CR LF): 2,000
    characters over 24 lines were refused as 2,024, by the page that had just let them through."""
    worked_example.run()
    client = as_user("ann@example.com")
    typed = "\n".join(["y" * 79] * 24 + ["y" * 80])
    assert len(typed) == 2000 and typed.count("\n") == 24
    response = client.post("/report/disputes", data={
        "csrf_token": csrf_token(client.get("/report").get_data(as_text=True)),
        "feedback_id": str(_own_items("ann")[0]), "reason": typed.replace("\n", "\r\n")})
    assert response.status_code == 302, response.get_data(as_text=True)
    with transaction() as session:
        assert session.scalar(select(Dispute.reason)) == typed


# --- constant queries -----------------------------------------------------------------------------------------


def _queries(app, client, path: str) -> int:
    return statements_of_page(app, client, path)


def _grow(worked_example, people: int, per_person: int) -> None:
    """Add ``people`` colleagues to Support and ``per_person`` rated items each, and more items for Ann."""
    with transaction() as session:
        support = session.scalar(select(Team.id).where(Team.slug == "support"))
        session.execute(insert(Employee), [{"name": f"Agent {n}", "email": f"agent{n}@example.com",
                                            "team_id": support} for n in range(people)])
        agents = list(session.scalars(select(Employee.id).where(Employee.email.like("agent%"))))
        rows = []
        for week in (BEFORE, WEEK):
            for employee in [*agents, worked_example.ids["ann"]]:
                for n in range(per_person):
                    rows.append({"channel": "bulk", "kind": "csat" if n % 2 else "nps",
                                 "external_id": f"{week.start:%W}-{employee}-{n}", "value": float(n % 5 + 1),
                                 "scale_min": 1.0 if n % 2 else 0.0, "scale_max": 5.0 if n % 2 else 10.0,
                                 "employee_id": employee, "comment": f"comment {n}",
                                 "occurred_at": week.start + timedelta(hours=n % 100)})
        session.execute(insert(Feedback), rows)


def test_report_pages_issue_the_same_queries_for_a_small_and_a_large_team(worked_example, as_user, app):
    worked_example.run(period=BEFORE)
    worked_example.run()
    ids = worked_example.ids
    pages = {"ann@example.com": ["/report", f"/report/{ids['ann']}"],
             "mia@example.com": [f"/report/{ids['ann']}", "/report/team"],
             "hr@example.com": [f"/report/{ids['bob']}", "/report/team"]}

    def count() -> dict[str, int]:
        return {f"{email} {url}": _queries(app, as_user(email), url) for email, urls in pages.items() for url in urls}

    small = count()
    _grow(worked_example, people=300, per_person=12)
    worked_example.run(period=BEFORE)
    worked_example.run()
    assert count() == small


def test_a_dispute_moved_to_a_colleague_keeps_its_reason_from_them(worked_example, as_user):
    """Ann's upheld dispute credits the item to Bob: Bob's report shows the item, not Ann's words about it."""
    from appraisal.review import decide_dispute, raise_dispute

    item = _own_items("ann")[0]
    with transaction() as session:
        ann, mia = session.get(User, worked_example.users["ann"]), session.get(User, worked_example.manager)
        dispute = raise_dispute(session, item, ann, "Bob answered this one, I was on leave")
        decide_dispute(session, dispute.id, mia, uphold=True, outcome="Moved to Bob", reassign_to=worked_example.ids["bob"])
    run_id = worked_example.run()
    bobs = as_user("bob@example.com").get(f"/report?run={run_id}").get_data(as_text=True)
    assert f'id="item-{item}"' in bobs and "I was on leave" not in bobs and "Moved to Bob" not in bobs
    anns = as_user("ann@example.com").get(f"/report?run={run_id}").get_data(as_text=True)
    assert "I was on leave" in anns and "Moved to Bob" in anns
    # Their manager sees it on Bob's report, where the item now counts.
    mias = as_user("mia@example.com").get(f"/report/{worked_example.ids['bob']}?run={run_id}").get_data(as_text=True)
    assert "I was on leave" in mias


def test_ids_beyond_the_database_and_nul_characters_are_refused_not_crashed(worked_example, as_user, app):
    worked_example.run()
    client = as_user("mia@example.com")
    for url in ("/report/3000000000", "/report/99999999999999999999"):
        assert client.get(url).status_code == 404, url
    for url, name in (("/report?run=99999999999999999999", "run"), ("/team?team=3000000000", "team"),
                      ("/team/responses?employee=99999999999999999999", "employee")):
        response = client.get(url)
        assert response.status_code == 400 and f"{name}: give a whole number" in response.get_data(as_text=True)
    client = as_user("ann@example.com")
    token = csrf_token(client.get("/report").get_data(as_text=True))
    before = row_counts(app)
    nul = client.post("/report/disputes", data={"csrf_token": token, "feedback_id": str(_own_items("ann")[0]),
                                                "reason": "not\x00mine"})
    assert nul.status_code == 400 and "reason: must not contain NUL characters" in nul.get_data(as_text=True)
    huge = client.post("/report/disputes", data={"csrf_token": token, "feedback_id": "99999999999999999999",
                                                 "reason": "not mine"})
    assert huge.status_code == 400 and "Item: choose the item" in huge.get_data(as_text=True)
    assert row_counts(app) == before


def test_a_report_without_a_composite_says_how_much_weight_one_needs(worked_example, as_user):
    """Cat: 0% of the weight had enough items, and nothing said how much a composite needs."""
    run = worked_example.run()
    mia = as_user("mia@example.com")
    html = " ".join(mia.get(f"/report/{worked_example.ids['cat']}?run={run}").get_data(as_text=True).split())
    assert re.search(r"% of the weight had enough items; a composite needs \d+%", html)
