"""The approvals queue: recommendations decided one by one or in batches, in scope, under the budget, audited."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from appraisal.models import AppraisalRun, Recommendation
from appraisal.periods import month_of
from core.db import get_session, transaction
from core.models import Employee, User
from tests.fixtures.appraisal import BEFORE, WEEK
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD, csrf_token, sign_in
from tests.web.review_support import audits, decide, own_session


def test_approvals_show_the_budget_and_go_through_in_scope(worked_example, login, app):
    run_id = worked_example.run()
    with own_session() as session:
        bonuses = {r.employee_id: r for r in session.scalars(select(Recommendation).where(
            Recommendation.run_id == run_id, Recommendation.kind == "bonus"))}
    ann, bob, dan = (bonuses[worked_example.ids[name]] for name in ("ann", "bob", "dan"))
    assert (ann.status, bob.status, dan.status) == ("proposed", "proposed", "rejected")

    client = login("mia@example.com")
    html = client.get("/review/recommendations").get_data(as_text=True)
    assert f'id="recommendation-{ann.id}"' in html and f'id="recommendation-{bob.id}"' in html
    assert f'id="recommendation-{dan.id}"' not in html
    assert "Week 2026-11-02 to 2026-11-08" in html
    assert "130.00 EUR" in html  # the cap
    assert f"{ann.amount + bob.amount:.2f} EUR" in html  # awaiting a decision
    assert f"offered {bob.requested_amount:.2f} EUR; the reason says why" in html and "by the budget cap" in html

    # Dan is in Billing: Mia may not decide his bonus, even by posting the form herself.
    refused = decide(client, "/review/recommendations", recommendation_id=dan.id, decision="approve")
    assert refused.status_code == 403 and "only HR or the employee" in refused.get_data(as_text=True)
    assert decide(client, "/review/recommendations", recommendation_id=ann.id, decision="maybe").status_code == 400

    done = decide(client, "/review/recommendations", recommendation_id=ann.id, decision="approve",
                   note="well earned")
    assert done.status_code == 303
    html = client.get("/review/recommendations").get_data(as_text=True)
    assert f'id="recommendation-{ann.id}"' not in html
    assert f"Approved for the period</dt><dd>{ann.amount:.2f} EUR" in html
    assert f"Left under the cap</dt><dd>{130 - ann.amount:.2f} EUR" in html
    again = decide(client, "/review/recommendations", recommendation_id=ann.id, decision="reject")
    assert again.status_code == 400 and "is already approved" in again.get_data(as_text=True)

    hr = app.test_client()
    sign_in(hr, "hr@example.com")
    assert decide(hr, "/review/recommendations", recommendation_id=bob.id, decision="reject",
                   note="half a bonus is no bonus").status_code == 303
    recommendation_audits = audits("recommendations")
    assert recommendation_audits == [("recommendation.approved", "well earned", worked_example.manager),
                                     ("recommendation.rejected", "half a bonus is no bonus", worked_example.hr)]
    assert "Nothing awaits your approval" in hr.get("/review/recommendations").get_data(as_text=True)

    # A custom period over the week has a cap of its own: its approvals page says what the week paid already.
    from appraisal.periods import period_between

    get_session().rollback()  # the requests' shared session lets go of SQLite's lock (see own_session)
    custom = worked_example.run(period=period_between(WEEK.start.date(), WEEK.start.date() + timedelta(days=13),
                                                      "custom"))
    page = " ".join(hr.get(f"/review/recommendations?run={custom}").get_data(as_text=True).split())
    assert (f"Bonuses were approved already for periods that overlap this one: week 2026-11-02 to 2026-11-08, "
            f"{ann.amount:.2f} EUR. This period's cap is its own") in page


def _bonuses(example, run_id, *names) -> list[int]:
    with own_session() as session:
        ids = dict(session.execute(select(Recommendation.employee_id, Recommendation.id).where(
            Recommendation.run_id == run_id, Recommendation.kind == "bonus")).all())
    return [ids[example.ids[name]] for name in names]


def _statuses(*ids) -> list[str]:
    with own_session() as session:
        return [session.get(Recommendation, i).status for i in ids]


def _ticked(html) -> list[int]:
    return sorted(int(i) for i in re.findall(r'name="selected" value="(\d+)" form="batch"[^>]* checked>', html))


APPROVALS = "/review/recommendations"


def test_a_leavers_proposal_says_they_have_left(worked_example, login):
    """A leaver's bonus waited in the approvals like anyone's, with nothing to tell HR they had gone."""
    _bonuses(worked_example, worked_example.run(), "ann", "bob")
    with transaction() as session:
        session.get(Employee, worked_example.ids["bob"]).active = False
    page = " ".join(login("mia@example.com").get(APPROVALS).get_data(as_text=True).split())
    assert "Bob <span class=\"muted\">(Support)</span> <span class=\"bad\">(has left)</span>" in page
    assert "Ann <span class=\"muted\">(Support)</span> <span class=\"bad\">" not in page


def test_approvals_say_when_a_run_was_made_before_its_period_ended(worked_example, login, session_per_request):
    """A bonus on four days of a week still going was offered for approval, for good, without a word."""
    run_id = worked_example.run()
    client = login("mia@example.com")
    assert "data-early" not in client.get(APPROVALS).get_data(as_text=True)  # made after the week it appraises
    with transaction() as session:
        session.execute(update(AppraisalRun).where(AppraisalRun.id == run_id)
                        .values(started_at=datetime(2026, 11, 5, 9, tzinfo=UTC)))
    page = " ".join(client.get(APPROVALS).get_data(as_text=True).split())
    assert ("Note: this run was made on 2026-11-05, before the week 2026-11-02 to 2026-11-08 ended: feedback that "
            "came later is not in it; run the period again for its final numbers.") in page


def test_ticked_recommendations_are_decided_together_with_one_note_and_each_audited(worked_example, login):
    ann, bob = _bonuses(worked_example, worked_example.run(), "ann", "bob")
    client = login("mia@example.com")
    page = client.get(APPROVALS).get_data(as_text=True)
    assert page.count('name="selected"') == 2 and _ticked(page) == []
    # Each row's buttons are named for it: a screen reader's list of buttons read "Approve" on every row.
    names = [re.sub(r"<[^>]+>", "", name) for name in re.findall(r'value="approve">(.*?)</button>', page)]
    assert sorted(names) == ["Approve Ann's bonus", "Approve Bob's bonus", "Approve ticked"]

    # Ticking the whole page needs no script: the form comes back with every row ticked, the note kept.
    ticked = client.post(APPROVALS, data={"csrf_token": csrf_token(page), "select": "all", "note": "kept"})
    assert ticked.status_code == 200 and _ticked(ticked.get_data(as_text=True)) == sorted([ann, bob])
    assert ">kept</textarea>" in ticked.get_data(as_text=True)
    assert _statuses(ann, bob) == ["proposed", "proposed"] and audits("recommendations") == []

    done = decide(client, APPROVALS, selected=[ann, bob], decision="approve", note="a strong week")
    assert done.status_code == 303
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Approved Ann&#39;s bonus of 100.00 EUR and Bob&#39;s bonus of 30.00 EUR." in html
    assert "Nothing awaits your approval" in html
    assert _statuses(ann, bob) == ["approved", "approved"]
    assert audits("recommendations") == [("recommendation.approved", "a strong week", worked_example.manager)] * 2

    # Nothing ticked is a clear error naming the field, not an empty success.
    none = decide(client, APPROVALS, decision="approve")
    assert none.status_code == 400 and "Not decided: tick the recommendations" in " ".join(none.get_data(as_text=True).split())


def test_a_batch_with_one_refused_recommendation_decides_none_and_names_it(worked_example, login):
    run_id = worked_example.run()
    ann, bob = _bonuses(worked_example, run_id, "ann", "bob")
    with own_session() as session:  # a proposal for Dan, in Billing, which Mia does not lead
        dans = Recommendation(run_id=run_id, employee_id=worked_example.ids["dan"], kind="bonus", source="test",
                              amount=10.0, requested_amount=10.0, reason="test", status="proposed",
                              needs_approval=True)
        session.add(dans)
        session.flush()
        dan = dans.id
    client = login("mia@example.com")
    single = decide(client, APPROVALS, recommendation_id=ann, decision="approve", note="first")
    assert "Approved Ann&#39;s bonus of 100.00 EUR." in client.get(single.headers["Location"]).get_data(as_text=True)

    # Ann's was decided meanwhile (two tabs open): the batch is refused whole, naming her and why.
    late = decide(client, APPROVALS, selected=[ann, bob], decision="reject", note="over budget")
    html = late.get_data(as_text=True)
    assert late.status_code == 400
    assert "Nothing was decided: 1 of the 2 chosen was refused" in html
    assert f"Ann&#39;s bonus of 100.00 EUR: recommendation {ann} is already approved" in html
    assert _ticked(html) == [bob] and ">over budget</textarea>" in html  # the selection and note are kept

    # Someone outside her teams: 403, and the refusal does not tell her whose it is.
    outside = decide(client, APPROVALS, selected=[bob, dan], decision="approve")
    html = outside.get_data(as_text=True)
    assert outside.status_code == 403
    assert f"recommendation {dan}: only HR or the employee&#39;s manager decides" in html and "Dan" not in html
    assert _statuses(ann, bob, dan) == ["approved", "proposed", "proposed"]
    assert audits("recommendations") == [("recommendation.approved", "first", worked_example.manager)]


def test_nobody_decides_their_own_recommendation_in_a_batch(worked_example, login):
    ann, bob = _bonuses(worked_example, worked_example.run(), "ann", "bob")
    with own_session() as session:  # an HR partner who is also appraised: Bob (his own account set aside)
        session.get(User, worked_example.users["bob"]).employee_id = None
        session.flush()
        session.get(User, worked_example.hr).employee_id = worked_example.ids["bob"]
    client = login("hr@example.com")
    page = client.get(APPROVALS).get_data(as_text=True)
    assert f'value="{ann}" form="batch"' in page
    # Their own is not in their queue (someone else decides it; the queue opened on it as a dead end)
    assert f'id="recommendation-{bob}"' not in page and "1 waiting" in page
    own = decide(client, APPROVALS, selected=[ann, bob], decision="approve")
    assert own.status_code == 403
    assert "Bob&#39;s bonus of 30.00 EUR: nobody decides their own recommendation" in own.get_data(as_text=True)
    assert _statuses(ann, bob) == ["proposed", "proposed"] and audits("recommendations") == []


def test_the_queue_shows_one_run_at_a_time_with_the_count_waiting_in_each(worked_example, login):
    week = worked_example.run()
    month = worked_example.run(period=month_of(WEEK.start.date()))
    before = worked_example.run(period=BEFORE)
    client = login("hr@example.com")
    html = client.get(APPROVALS).get_data(as_text=True)
    # By default the run whose period starts last; the chooser lists every run with proposals, newest first.
    assert re.findall(r"run (\d+) · (\d+) waiting", html) == [(str(week), "2"), (str(month), "2"),
                                                                (str(before), "1")]
    assert f"run {week}, guideline v1, 2 waiting" in html and "Week 2026-11-02 to 2026-11-08" in html
    assert html.count('<tr id="recommendation-') == 2
    assert "Every kind (5 waiting)" in html and "Week (3 waiting)" in html and "Month (2 waiting)" in html

    months = client.get(f"{APPROVALS}?kind=month").get_data(as_text=True)
    assert re.findall(r"run (\d+) · (\d+) waiting", months) == [(str(month), "2")]
    assert f"run {month}, guideline v1, 2 waiting" in months and "Month 2026-11-01 to 2026-11-30" in months
    earlier = client.get(f"{APPROVALS}?run={before}").get_data(as_text=True)
    assert f"run {before}, guideline v1, 1 waiting" in earlier and earlier.count('<tr id="recommendation-') == 1
    assert client.get(f"{APPROVALS}?kind=quarter").get_data(as_text=True).count("Nothing awaits") == 1

    bad = client.get(f"{APPROVALS}?kind=fortnight")
    assert bad.status_code == 400 and "kind: choose a period kind" in bad.get_data(as_text=True)
    assert client.get(f"{APPROVALS}?run=latest").status_code == 400

    # Deciding a run's last proposal (from its page) leads on to the latest run that still has some.
    (last,) = _bonuses(worked_example, before, "ann")
    done = decide(client, f"{APPROVALS}?run={before}", recommendation_id=last, decision="reject", note="no")
    assert done.headers["Location"].endswith(f"?run={before}")
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Rejected Ann&#39;s bonus of 100.00 EUR." in after
    assert f"Nothing waits for your decision in run {before}; showing the latest" in after
    assert f"run {week}, guideline v1, 2 waiting" in after


def test_in_a_browser_the_ticked_rows_and_the_whole_page_are_decided_by_the_batch_form(worked_example,
                                                                                      browser_page):
    """The rows' checkboxes sit outside the batch form and join it by their form attribute: a browser's job."""
    ann, bob = _bonuses(worked_example, worked_example.run(), "ann", "bob")
    get_session().rollback()  # let the live server write (see own_session)
    page = browser_page
    sign_in_browser(page, "mia@example.com", PASSWORD)
    page.goto(APPROVALS)
    page.click("button:has-text('Tick all 2 on this page')")
    assert page.locator("input[name=selected]:checked").count() == 2
    page.uncheck(f"input[name=selected][value='{bob}']")
    page.fill("#batch-note", "from the browser")
    page.shot("ticked")
    page.click("button:has-text('Approve ticked')")
    assert page.locator(".flash").inner_text() == "Approved Ann's bonus of 100.00 EUR."
    assert page.locator("tbody tr").count() == 1
    assert page.evaluate("document.documentElement.scrollHeight") < 1500  # a short page, not 18,000 px
    page.shot("decided")
    assert _statuses(ann, bob) == ["approved", "proposed"]
    assert audits("recommendations") == [("recommendation.approved", "from the browser", worked_example.manager)]
