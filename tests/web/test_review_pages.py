"""The review queues: HR's integrity flags, managers' and HR's disputes and approvals, in scope and audited."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, insert, select, update

from appraisal.models import AppraisalResult, AppraisalRun, Recommendation
from appraisal.periods import month_of
from appraisal.review import raise_dispute
from core.db import get_session, transaction
from core.models import AuditEntry, Dispute, Employee, Feedback, Flag, User
from tests.fixtures.app import statements_of_page
from tests.fixtures.appraisal import BEFORE, WEEK
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD, csrf_token, sign_in
from tests.fixtures.scale import sized_org

EMAILS = {"hr": "hr@example.com", "manager": "mia@example.com", "employee": "ann@example.com",
          "admin": "admin@example.com"}


@contextmanager
def _db():
    """A unit of work of the test's own, once the requests' shared session has let go of SQLite's lock.

    The worked example holds an app context open, so every request shares one session in ``g`` (as a real
    request's would be closed at its end, the test ends its transaction here).
    """
    get_session().rollback()
    with transaction() as session:
        yield session


def _items(session, employee_id, kind="csat"):
    return session.scalars(select(Feedback).where(Feedback.employee_id == employee_id, Feedback.kind == kind)
                           .order_by(Feedback.id)).all()


def _flag(example, who="ann", check="self_rating", reason="the agent rated their own ticket", index=0) -> int:
    """Quarantine one of ``who``'s items under a flag, as an integrity check would; return the flag id."""
    with _db() as session:
        item = _items(session, example.ids[who])[index]
        item.status = "quarantined"
        flag = Flag(feedback_id=item.id, check=check, reason=reason)
        session.add(flag)
        session.flush()
        return flag.id


def _dispute(example, who="ann", reason="this customer was Bob's", index=0) -> int:
    with _db() as session:
        user = session.scalar(select(User).where(User.employee_id == example.ids[who]))
        return raise_dispute(session, _items(session, example.ids[who])[index].id, user, reason).id


def _decide(client, path, **form):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **form})


def _audits(entity_type):
    with _db() as session:
        return session.execute(select(AuditEntry.action, AuditEntry.note, AuditEntry.actor_id)
                               .where(AuditEntry.entity_type == entity_type).order_by(AuditEntry.id)).all()


@pytest.mark.parametrize("path, allowed", [("/review/flags", {"hr"}),
                                           ("/review/disputes", {"hr", "manager"}),
                                           ("/review/recommendations", {"hr", "manager"})])
def test_each_queue_opens_only_for_the_roles_that_decide_it(worked_example, app, path, allowed):
    for role, email in EMAILS.items():
        client = app.test_client()
        assert sign_in(client, email).status_code == 302
        assert client.get(path).status_code == (200 if role in allowed else 403), (role, path)
        # and nobody else may post a decision either, even with a valid CSRF token (from the home page)
        if role not in allowed:
            token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
            assert client.post(path, data={"csrf_token": token, "flag_id": 1, "dispute_id": 1,
                                           "recommendation_id": 1, "decision": "uphold"}).status_code == 403
    assert app.test_client().get(path).status_code == 302  # signed out: to the login page


def test_hr_upholds_and_dismisses_flags_and_decided_flags_leave_the_queue(worked_example, login):
    upheld = _flag(worked_example, "ann", reason="Ann's own e-mail answered the survey")
    dismissed = _flag(worked_example, "bob", check="duplicate_respondent", reason="the same respondent twice")
    client = login("hr@example.com")
    html = client.get("/review/flags").get_data(as_text=True)
    assert "Ann&#39;s own e-mail answered the survey" in html and "the same respondent twice" in html
    assert "Self-rating" in html and "Duplicate respondent" in html  # the checks' titles

    # The filter narrows the queue to one check.
    only = client.get("/review/flags?check=duplicate_respondent").get_data(as_text=True)
    assert f'id="flag-{dismissed}"' in only and f'id="flag-{upheld}"' not in only
    bad = client.get("/review/flags?check=astrology")
    assert bad.status_code == 400 and "check: no integrity check is called" in bad.get_data(as_text=True)

    response = _decide(client, "/review/flags", flag_id=upheld, decision="uphold", note="it was Ann herself")
    assert response.status_code == 303
    response = _decide(client, "/review/flags", flag_id=dismissed, decision="dismiss", note="two customers")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "dismissed: the item counts again" in html and "No open flags" in html
    with _db() as session:
        items = {f.id: f.feedback.status for f in session.scalars(select(Flag))}
    assert items == {upheld: "excluded", dismissed: "accepted"}
    hr_id = worked_example.hr
    assert _audits("flags") == [("flag.upheld", "it was Ann herself", hr_id),
                                ("flag.dismissed", "two customers", hr_id)]

    # A decided flag cannot be decided again: the domain says why, and nothing changes.
    again = _decide(client, "/review/flags", flag_id=upheld, decision="dismiss")
    assert again.status_code == 400
    assert f"flag {upheld} was already upheld" in again.get_data(as_text=True)
    assert len(_audits("flags")) == 2


def test_a_flag_decision_without_a_choice_is_refused_naming_the_field(worked_example, login):
    flag_id = _flag(worked_example)
    client = login("hr@example.com")
    response = _decide(client, "/review/flags", flag_id=flag_id, note="kept")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Decision: choose uphold or dismiss" in html
    assert ">kept</textarea>" in html  # what was typed is not lost
    assert _decide(client, "/review/flags", flag_id="x", decision="uphold").status_code == 400
    assert _decide(client, "/review/flags", flag_id=99999, decision="uphold").status_code == 404
    with _db() as session:
        assert session.get(Flag, flag_id).decision is None
    assert _audits("flags") == []


def test_hr_does_not_decide_a_flag_about_themselves(worked_example, login):
    flag_id = _flag(worked_example, "cat")
    with _db() as session:  # an HR partner who is also appraised
        session.get(User, worked_example.hr).employee_id = worked_example.ids["cat"]
    client = login("hr@example.com")
    assert "This flag is about you" in client.get("/review/flags").get_data(as_text=True)
    response = _decide(client, "/review/flags", flag_id=flag_id, decision="dismiss")
    assert response.status_code == 403 and "another HR colleague" in response.get_data(as_text=True)


def test_the_flag_queue_is_paginated(worked_example, login):
    with _db() as session:
        item = _items(session, worked_example.ids["dan"])[0]
        session.execute(insert(Flag), [{"feedback_id": item.id, "check": "self_rating", "reason": f"reason {n}"}
                                       for n in range(55)])
    client = login("hr@example.com")
    first, second = (client.get(f"/review/flags?page={n}").get_data(as_text=True) for n in (1, 2))
    assert first.count('class="queue-item"') == 50 and second.count('class="queue-item"') == 5
    assert "Page 2 of 2" in second and ">reason 54<" in second
    # a page past the end shows the last one; a page that is no number is refused
    assert client.get("/review/flags?page=9").get_data(as_text=True).count('class="queue-item"') == 5
    assert client.get("/review/flags?page=zero").status_code == 400


def test_managers_see_and_decide_disputes_only_in_their_teams(worked_example, login, app):
    ann_dispute = _dispute(worked_example, "ann")
    dan_dispute = _dispute(worked_example, "dan", reason="I was off that day")
    client = login("mia@example.com")
    html = client.get("/review/disputes").get_data(as_text=True)
    assert f'id="dispute-{ann_dispute}"' in html and f'id="dispute-{dan_dispute}"' not in html
    assert "this customer was Bob&#39;s" in html
    # The people Mia may credit an item to: her team, never herself, never Billing.
    assert re.findall(r'<option value="\d+" label="(\w+)', html) == ["Ann", "Bob", "Cat"]

    refused = _decide(client, "/review/disputes", dispute_id=dan_dispute, decision="reject", outcome="stands")
    assert refused.status_code == 403 and "only HR or the employee" in refused.get_data(as_text=True)
    missing = _decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold", outcome=" ")
    assert missing.status_code == 400 and "Outcome: write it" in missing.get_data(as_text=True)
    assert 'value="uphold" required checked' in missing.get_data(as_text=True)  # the choice is kept
    for typed, problem in (("Zoe", "nobody in your scope is called 'Zoe'"),
                           ("Dan", "nobody in your scope is called 'Dan'")):  # Dan is Billing's: not Mia's
        refused_name = _decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold",
                               outcome="Bob's", reassign_to=typed)
        assert refused_name.status_code == 400
        assert f"Credit it to: {problem}" in unescape(refused_name.get_data(as_text=True))
        # leading to the dispute, and the field at fault marked (it read "reassign_to: ..." alone)
        refused_html = refused_name.get_data(as_text=True)
        assert f'<a href="#dispute-{ann_dispute}">dispute {ann_dispute}</a>' in refused_html
        assert (f'id="reassign-{ann_dispute}" name="reassign_to" aria-invalid="true" aria-describedby="refusal"'
                in refused_html)
    muddled = _decide(client, "/review/disputes", dispute_id=ann_dispute, decision="reject", outcome="no",
                      reassign_to=worked_example.ids["bob"])
    assert muddled.status_code == 400 and "Credit it to: only an upheld dispute" in muddled.get_data(as_text=True)
    elsewhere = _decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold", outcome="Dan's",
                        reassign_to=worked_example.ids["dan"])
    assert elsewhere.status_code == 403 and "only to people you manage" in elsewhere.get_data(as_text=True)
    # "Upheld" by crediting the item to the very employee who disputes it would change nothing
    unchanged = _decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold", outcome="ok",
                        reassign_to=worked_example.ids["ann"])
    assert unchanged.status_code == 400
    assert "Credit it to: the item already counts for Ann, who disputes it" in unchanged.get_data(as_text=True)
    assert _audits("disputes") == [("dispute.raised", None, worked_example.users["ann"]),
                                   ("dispute.raised", None, worked_example.users["dan"])]

    done = _decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold",  # typed, not picked
                   outcome="Moved to Bob: he answered that ticket", reassign_to=" bob ")
    assert done.status_code == 303
    assert "upheld: the item now counts for Bob." in client.get(done.location).get_data(as_text=True)
    assert "No open disputes" in client.get("/review/disputes").get_data(as_text=True)
    with _db() as session:
        dispute = session.get(Dispute, ann_dispute)
        item = session.get(Feedback, dispute.feedback_id)
        assert (dispute.status, dispute.reassigned_to) == ("upheld", worked_example.ids["bob"])
        assert (item.employee_id, item.attribution_policy) == (worked_example.ids["bob"], "manual")
    assert _audits("disputes")[-1] == ("dispute.upheld", "Moved to Bob: he answered that ticket",
                                       worked_example.manager)

    # HR sees the whole organisation's, and decides Dan's.
    hr = app.test_client()
    sign_in(hr, "hr@example.com")
    assert f'id="dispute-{dan_dispute}"' in hr.get("/review/disputes").get_data(as_text=True)
    assert _decide(hr, "/review/disputes", dispute_id=dan_dispute, decision="reject",
                   outcome="The rota shows you on shift").status_code == 303
    assert _audits("disputes")[-1][0] == "dispute.rejected"

    # What was decided stays readable: the open list had no history of it.
    decided = " ".join(hr.get("/review/disputes/decided").get_data(as_text=True).split())
    assert decided.index(f'id="dispute-{dan_dispute}"') < decided.index(f'id="dispute-{ann_dispute}"')  # newest first
    assert "Upheld</strong>: credited to Bob · Mia" in decided and "Moved to Bob: he answered that ticket" in decided
    assert "Rejected: the item stands</strong> · Hana HR" in decided and "The rota shows you on shift" in decided
    mine = client.get("/review/disputes/decided").get_data(as_text=True)  # Mia: her team's only, Ann's though
    assert f'id="dispute-{ann_dispute}"' in mine and f'id="dispute-{dan_dispute}"' not in mine  # the item is Bob's now


def test_nobody_decides_a_dispute_about_their_own_feedback(worked_example, login):
    with _db() as session:
        session.get(User, worked_example.hr).employee_id = worked_example.ids["cat"]
    with _db() as session:
        hr = session.get(User, worked_example.hr)
        dispute_id = raise_dispute(session, _items(session, worked_example.ids["cat"])[0].id, hr, "not mine").id
    client = login("hr@example.com")
    # Not in their queue at all: its item's comment would show verbatim, whatever the comment policy says
    assert f'id="dispute-{dispute_id}"' not in client.get("/review/disputes").get_data(as_text=True)
    response = _decide(client, "/review/disputes", dispute_id=dispute_id, decision="uphold", outcome="mine")
    assert response.status_code == 403
    with _db() as session:
        assert session.get(Dispute, dispute_id).status == "open"


def test_approvals_show_the_budget_and_go_through_in_scope(worked_example, login, app):
    run_id = worked_example.run()
    with _db() as session:
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
    refused = _decide(client, "/review/recommendations", recommendation_id=dan.id, decision="approve")
    assert refused.status_code == 403 and "only HR or the employee" in refused.get_data(as_text=True)
    assert _decide(client, "/review/recommendations", recommendation_id=ann.id, decision="maybe").status_code == 400

    done = _decide(client, "/review/recommendations", recommendation_id=ann.id, decision="approve",
                   note="well earned")
    assert done.status_code == 303
    html = client.get("/review/recommendations").get_data(as_text=True)
    assert f'id="recommendation-{ann.id}"' not in html
    assert f"Approved for the period</dt><dd>{ann.amount:.2f} EUR" in html
    assert f"Left under the cap</dt><dd>{130 - ann.amount:.2f} EUR" in html
    again = _decide(client, "/review/recommendations", recommendation_id=ann.id, decision="reject")
    assert again.status_code == 400 and "is already approved" in again.get_data(as_text=True)

    hr = app.test_client()
    sign_in(hr, "hr@example.com")
    assert _decide(hr, "/review/recommendations", recommendation_id=bob.id, decision="reject",
                   note="half a bonus is no bonus").status_code == 303
    recommendation_audits = _audits("recommendations")
    assert recommendation_audits == [("recommendation.approved", "well earned", worked_example.manager),
                                     ("recommendation.rejected", "half a bonus is no bonus", worked_example.hr)]
    assert "Nothing awaits your approval" in hr.get("/review/recommendations").get_data(as_text=True)

    # A custom period over the week has a cap of its own: its approvals page says what the week paid already.
    from appraisal.periods import period_between

    get_session().rollback()  # the requests' shared session lets go of SQLite's lock (see _db)
    custom = worked_example.run(period=period_between(WEEK.start.date(), WEEK.start.date() + timedelta(days=13),
                                                      "custom"))
    page = " ".join(hr.get(f"/review/recommendations?run={custom}").get_data(as_text=True).split())
    assert (f"Bonuses were approved already for periods that overlap this one: week 2026-11-02 to 2026-11-08, "
            f"{ann.amount:.2f} EUR. This period's cap is its own") in page


def _bonuses(example, run_id, *names) -> list[int]:
    with _db() as session:
        ids = dict(session.execute(select(Recommendation.employee_id, Recommendation.id).where(
            Recommendation.run_id == run_id, Recommendation.kind == "bonus")).all())
    return [ids[example.ids[name]] for name in names]


def _statuses(*ids) -> list[str]:
    with _db() as session:
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
    assert _statuses(ann, bob) == ["proposed", "proposed"] and _audits("recommendations") == []

    done = _decide(client, APPROVALS, selected=[ann, bob], decision="approve", note="a strong week")
    assert done.status_code == 303
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Approved Ann&#39;s bonus of 100.00 EUR and Bob&#39;s bonus of 30.00 EUR." in html
    assert "Nothing awaits your approval" in html
    assert _statuses(ann, bob) == ["approved", "approved"]
    assert _audits("recommendations") == [("recommendation.approved", "a strong week", worked_example.manager)] * 2

    # Nothing ticked is a clear error naming the field, not an empty success.
    none = _decide(client, APPROVALS, decision="approve")
    assert none.status_code == 400 and "Not decided: tick the recommendations" in " ".join(none.get_data(as_text=True).split())


def test_a_batch_with_one_refused_recommendation_decides_none_and_names_it(worked_example, login):
    run_id = worked_example.run()
    ann, bob = _bonuses(worked_example, run_id, "ann", "bob")
    with _db() as session:  # a proposal for Dan, in Billing, which Mia does not lead
        dans = Recommendation(run_id=run_id, employee_id=worked_example.ids["dan"], kind="bonus", source="test",
                              amount=10.0, requested_amount=10.0, reason="test", status="proposed",
                              needs_approval=True)
        session.add(dans)
        session.flush()
        dan = dans.id
    client = login("mia@example.com")
    single = _decide(client, APPROVALS, recommendation_id=ann, decision="approve", note="first")
    assert "Approved Ann&#39;s bonus of 100.00 EUR." in client.get(single.headers["Location"]).get_data(as_text=True)

    # Ann's was decided meanwhile (two tabs open): the batch is refused whole, naming her and why.
    late = _decide(client, APPROVALS, selected=[ann, bob], decision="reject", note="over budget")
    html = late.get_data(as_text=True)
    assert late.status_code == 400
    assert "Nothing was decided: 1 of the 2 chosen was refused" in html
    assert f"Ann&#39;s bonus of 100.00 EUR: recommendation {ann} is already approved" in html
    assert _ticked(html) == [bob] and ">over budget</textarea>" in html  # the selection and note are kept

    # Someone outside her teams: 403, and the refusal does not tell her whose it is.
    outside = _decide(client, APPROVALS, selected=[bob, dan], decision="approve")
    html = outside.get_data(as_text=True)
    assert outside.status_code == 403
    assert f"recommendation {dan}: only HR or the employee&#39;s manager decides" in html and "Dan" not in html
    assert _statuses(ann, bob, dan) == ["approved", "proposed", "proposed"]
    assert _audits("recommendations") == [("recommendation.approved", "first", worked_example.manager)]


def test_nobody_decides_their_own_recommendation_in_a_batch(worked_example, login):
    ann, bob = _bonuses(worked_example, worked_example.run(), "ann", "bob")
    with _db() as session:  # an HR partner who is also appraised: Bob (his own account set aside)
        session.get(User, worked_example.users["bob"]).employee_id = None
        session.flush()
        session.get(User, worked_example.hr).employee_id = worked_example.ids["bob"]
    client = login("hr@example.com")
    page = client.get(APPROVALS).get_data(as_text=True)
    assert f'value="{ann}" form="batch"' in page
    # Their own is not in their queue (someone else decides it; the queue opened on it as a dead end)
    assert f'id="recommendation-{bob}"' not in page and "1 waiting" in page
    own = _decide(client, APPROVALS, selected=[ann, bob], decision="approve")
    assert own.status_code == 403
    assert "Bob&#39;s bonus of 30.00 EUR: nobody decides their own recommendation" in own.get_data(as_text=True)
    assert _statuses(ann, bob) == ["proposed", "proposed"] and _audits("recommendations") == []


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
    done = _decide(client, f"{APPROVALS}?run={before}", recommendation_id=last, decision="reject", note="no")
    assert done.headers["Location"].endswith(f"?run={before}")
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Rejected Ann&#39;s bonus of 100.00 EUR." in after
    assert f"Nothing waits for your decision in run {before}; showing the latest" in after
    assert f"run {week}, guideline v1, 2 waiting" in after


def test_in_a_browser_the_ticked_rows_and_the_whole_page_are_decided_by_the_batch_form(worked_example,
                                                                                      browser_page):
    """The rows' checkboxes sit outside the batch form and join it by their form attribute: a browser's job."""
    ann, bob = _bonuses(worked_example, worked_example.run(), "ann", "bob")
    get_session().rollback()  # let the live server write (see _db)
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
    assert _audits("recommendations") == [("recommendation.approved", "from the browser", worked_example.manager)]


def _statements(app, client, path) -> int:
    get_session().rollback()  # as a new request would, start without the shared session's cached rows
    return statements_of_page(app, client, path)


def _propose_bonuses(session) -> int:
    """Give everyone in the latest run without one a proposed bonus, as a generous guideline would."""
    run_id = session.scalar(select(func.max(AppraisalResult.run_id)))
    have = select(Recommendation.employee_id).where(Recommendation.run_id == run_id,
                                                    Recommendation.status == "proposed")
    employees = session.scalars(select(AppraisalResult.employee_id).where(
        AppraisalResult.run_id == run_id, AppraisalResult.employee_id.not_in(have))).all()
    session.execute(insert(Recommendation), [
        {"run_id": run_id, "employee_id": e, "kind": "bonus", "source": "tier:Gold", "amount": 10.0,
         "requested_amount": 20.0, "reason": "Gold: composite 80", "status": "proposed", "needs_approval": True}
        for e in employees])
    return session.scalar(select(func.count()).select_from(Recommendation).where(
        Recommendation.status == "proposed"))


def test_the_queues_issue_the_same_queries_for_a_small_and_a_large_org(app):
    paths = {"hr@example.com": ("/review/flags", "/review/disputes", "/review/recommendations",
                                "/review/recommendations?kind=week&page=2"),
             "mia@example.com": ("/review/disputes", "/review/recommendations")}
    with app.app_context():
        org = sized_org(10)
        with _db() as session:
            assert _propose_bonuses(session) >= 10
        clients = {email: app.test_client() for email in paths}
        for email, client in clients.items():
            assert sign_in(client, email).status_code == 302
        small = {(email, path): _statements(app, clients[email], path) for email in paths for path in paths[email]}
        get_session().rollback()  # the requests' shared session lets go of SQLite's lock (see _db)
        org.grow(400)
        with _db() as session:  # enough of each to fill a page
            assert _propose_bonuses(session) > 60
            assert session.scalar(select(Flag.id).offset(60).limit(1)) is not None
            assert session.scalar(select(Dispute.id).offset(60).limit(1)) is not None
        large = {(email, path): _statements(app, clients[email], path) for email in paths for path in paths[email]}
    assert large == small
