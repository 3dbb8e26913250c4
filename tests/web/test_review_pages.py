"""The review queues: HR's integrity flags and managers' and HR's disputes, in scope and audited (approvals:
test_approvals_page.py), and the queries every queue issues."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, insert, select

from appraisal.models import AppraisalResult, Recommendation
from appraisal.review import raise_dispute
from core.db import get_session
from core.models import Dispute, Employee, Feedback, Flag, User
from tests.fixtures.app import statements_of_page
from tests.fixtures.org import csrf_token, sign_in
from tests.fixtures.scale import sized_org
from tests.web.review_support import audits, decide, own_session

EMAILS = {"hr": "hr@example.com", "manager": "mia@example.com", "employee": "ann@example.com",
          "admin": "admin@example.com"}


def _items(session, employee_id, kind="csat"):
    return session.scalars(select(Feedback).where(Feedback.employee_id == employee_id, Feedback.kind == kind)
                           .order_by(Feedback.id)).all()


def _flag(example, who="ann", check="self_rating", reason="the agent rated their own ticket", index=0) -> int:
    """Quarantine one of ``who``'s items under a flag, as an integrity check would; return the flag id."""
    with own_session() as session:
        item = _items(session, example.ids[who])[index]
        item.status = "quarantined"
        flag = Flag(feedback_id=item.id, check=check, reason=reason)
        session.add(flag)
        session.flush()
        return flag.id


def _dispute(example, who="ann", reason="this customer was Bob's", index=0) -> int:
    with own_session() as session:
        user = session.scalar(select(User).where(User.employee_id == example.ids[who]))
        return raise_dispute(session, _items(session, example.ids[who])[index].id, user, reason).id


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

    response = decide(client, "/review/flags", flag_id=upheld, decision="uphold", note="it was Ann herself")
    assert response.status_code == 303
    response = decide(client, "/review/flags", flag_id=dismissed, decision="dismiss", note="two customers")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "dismissed: the item counts again" in html and "No open flags" in html
    with own_session() as session:
        items = {f.id: f.feedback.status for f in session.scalars(select(Flag))}
    assert items == {upheld: "excluded", dismissed: "accepted"}
    hr_id = worked_example.hr
    assert audits("flags") == [("flag.upheld", "it was Ann herself", hr_id),
                                ("flag.dismissed", "two customers", hr_id)]

    # A decided flag cannot be decided again: the domain says why, and nothing changes.
    again = decide(client, "/review/flags", flag_id=upheld, decision="dismiss")
    assert again.status_code == 400
    assert f"flag {upheld} was already upheld" in again.get_data(as_text=True)
    assert len(audits("flags")) == 2


def test_a_flag_decision_without_a_choice_is_refused_naming_the_field(worked_example, login):
    flag_id = _flag(worked_example)
    client = login("hr@example.com")
    response = decide(client, "/review/flags", flag_id=flag_id, note="kept")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Decision: choose uphold or dismiss" in html
    assert ">kept</textarea>" in html  # what was typed is not lost
    assert decide(client, "/review/flags", flag_id="x", decision="uphold").status_code == 400
    assert decide(client, "/review/flags", flag_id=99999, decision="uphold").status_code == 404
    with own_session() as session:
        assert session.get(Flag, flag_id).decision is None
    assert audits("flags") == []


def test_hr_does_not_decide_a_flag_about_themselves(worked_example, login):
    flag_id = _flag(worked_example, "cat")
    with own_session() as session:  # an HR partner who is also appraised
        session.get(User, worked_example.hr).employee_id = worked_example.ids["cat"]
    client = login("hr@example.com")
    assert "This flag is about you" in client.get("/review/flags").get_data(as_text=True)
    response = decide(client, "/review/flags", flag_id=flag_id, decision="dismiss")
    assert response.status_code == 403 and "another HR colleague" in response.get_data(as_text=True)


def test_the_flag_queue_is_paginated(worked_example, login):
    with own_session() as session:
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
    # A pick fills in the name and team, which the manager reads back in the field (it filled in an id).
    assert re.findall(r'<option value="(\w+) \(Support\)" data-id="\d+"', html) == ["Ann", "Bob", "Cat"]

    refused = decide(client, "/review/disputes", dispute_id=dan_dispute, decision="reject", outcome="stands")
    assert refused.status_code == 403 and "only HR or the employee" in refused.get_data(as_text=True)
    missing = decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold", outcome=" ")
    assert missing.status_code == 400 and "Outcome: write it" in missing.get_data(as_text=True)
    assert 'value="uphold" required checked' in missing.get_data(as_text=True)  # the choice is kept
    for typed, problem in (("Zoe", "nobody in your scope is called 'Zoe'"),
                           ("Dan", "nobody in your scope is called 'Dan'"),  # Dan is Billing's: not Mia's
                           ("bo", "nobody in your scope is called 'bo' in full: did you mean Bob?"),
                           ("Bob (Billing)", "nobody in your scope is called 'Bob (Billing)'")):
        refused_name = decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold",
                               outcome="Bob's", reassign_to=typed)
        assert refused_name.status_code == 400
        assert f"Credit it to: {problem}" in unescape(refused_name.get_data(as_text=True))
        # leading to the dispute, and the field at fault marked (it read "reassign_to: ..." alone)
        refused_html = refused_name.get_data(as_text=True)
        assert f'<a href="#dispute-{ann_dispute}">dispute {ann_dispute}</a>' in refused_html
        assert (f'id="reassign-{ann_dispute}" name="reassign_to" aria-invalid="true" aria-describedby="refusal"'
                in refused_html)
    muddled = decide(client, "/review/disputes", dispute_id=ann_dispute, decision="reject", outcome="no",
                      reassign_to=worked_example.ids["bob"])
    assert muddled.status_code == 400 and "Credit it to: only an upheld dispute" in muddled.get_data(as_text=True)
    elsewhere = decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold", outcome="Dan's",
                        reassign_to=worked_example.ids["dan"])
    assert elsewhere.status_code == 403 and "only to people you manage" in elsewhere.get_data(as_text=True)
    # "Upheld" by crediting the item to the very employee who disputes it would change nothing
    unchanged = decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold", outcome="ok",
                        reassign_to=worked_example.ids["ann"])
    assert unchanged.status_code == 400
    assert "Credit it to: the item already counts for Ann, who disputes it" in unchanged.get_data(as_text=True)
    assert audits("disputes") == [("dispute.raised", None, worked_example.users["ann"]),
                                   ("dispute.raised", None, worked_example.users["dan"])]

    done = decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold",  # typed, not picked
                   outcome="Moved to Bob: he answered that ticket", reassign_to=" bob ")
    assert done.status_code == 303
    with own_session() as session:  # undone, to be decided again as picked from the list
        dispute = session.get(Dispute, ann_dispute)
        session.get(Feedback, dispute.feedback_id).employee_id = worked_example.ids["ann"]
        dispute.status, dispute.decided_by, dispute.decided_at, dispute.reassigned_to = "open", None, None, None
    done = decide(client, "/review/disputes", dispute_id=ann_dispute, decision="uphold",
                   outcome="Moved to Bob: he answered that ticket", reassign_to="Bob (Support)")
    assert done.status_code == 303
    assert "upheld: the item now counts for Bob in the next run of its period" in client.get(done.location).get_data(as_text=True)
    assert "No open disputes" in client.get("/review/disputes").get_data(as_text=True)
    with own_session() as session:
        dispute = session.get(Dispute, ann_dispute)
        item = session.get(Feedback, dispute.feedback_id)
        assert (dispute.status, dispute.reassigned_to) == ("upheld", worked_example.ids["bob"])
        assert (item.employee_id, item.attribution_policy) == (worked_example.ids["bob"], "manual")
    assert audits("disputes")[-1] == ("dispute.upheld", "Moved to Bob: he answered that ticket",
                                       worked_example.manager)

    # HR sees the whole organisation's, and decides Dan's.
    hr = app.test_client()
    sign_in(hr, "hr@example.com")
    assert f'id="dispute-{dan_dispute}"' in hr.get("/review/disputes").get_data(as_text=True)
    assert decide(hr, "/review/disputes", dispute_id=dan_dispute, decision="reject",
                   outcome="The rota shows you on shift").status_code == 303
    assert audits("disputes")[-1][0] == "dispute.rejected"

    # What was decided stays readable: the open list had no history of it.
    decided = " ".join(hr.get("/review/disputes/decided").get_data(as_text=True).split())
    assert decided.index(f'id="dispute-{dan_dispute}"') < decided.index(f'id="dispute-{ann_dispute}"')  # newest first
    assert "Upheld</strong>: credited to Bob · Mia" in decided and "Moved to Bob: he answered that ticket" in decided
    assert "<dt>Counted for, when disputed</dt> <dd>Ann" in decided  # not "Employee: Ann" beside "credited to Bob"
    assert "Rejected: the item stands</strong> · Hana HR" in decided and "The rota shows you on shift" in decided
    mine = client.get("/review/disputes/decided").get_data(as_text=True)  # Mia: her team's only, Ann's though
    assert f'id="dispute-{ann_dispute}"' in mine and f'id="dispute-{dan_dispute}"' not in mine  # the item is Bob's now


def test_two_people_alike_in_the_list_are_told_apart_by_their_id(worked_example, login):
    """A leaver hired again as a new record read "Bob (Support)" twice: either pick was refused as ambiguous."""
    with own_session() as session:
        bob = session.get(Employee, worked_example.ids["bob"])
        again = Employee(name="Bob", email="bob.again@example.com", team_id=bob.team_id)
        session.add(again)
        session.flush()
        again_id = again.id
        item = session.scalar(select(Feedback.id).where(Feedback.employee_id == worked_example.ids["ann"]).limit(1))
        ann = session.scalar(select(User).where(User.employee_id == worked_example.ids["ann"]))
        dispute = raise_dispute(session, item, ann, "Bob's call").id
    client = login("mia@example.com")
    html = client.get("/review/disputes").get_data(as_text=True)
    offered = re.findall(r'<option value="(Bob[^"]*)" data-id="(\d+)"', html)
    assert sorted(offered) == sorted([(f"Bob (Support) #{worked_example.ids['bob']}", str(worked_example.ids["bob"])),
                                      (f"Bob (Support) #{again_id}", str(again_id))])
    done = decide(client, "/review/disputes", dispute_id=dispute, decision="uphold", outcome="the new Bob's",
                  reassign_to=f"Bob (Support) #{again_id}")
    assert done.status_code == 303
    with own_session() as session:
        assert session.get(Feedback, item).employee_id == again_id


def test_nobody_decides_a_dispute_about_their_own_feedback(worked_example, login):
    with own_session() as session:
        session.get(User, worked_example.hr).employee_id = worked_example.ids["cat"]
    with own_session() as session:
        hr = session.get(User, worked_example.hr)
        dispute_id = raise_dispute(session, _items(session, worked_example.ids["cat"])[0].id, hr, "not mine").id
    client = login("hr@example.com")
    # Not in their queue at all: its item's comment would show verbatim, whatever the comment policy says
    assert f'id="dispute-{dispute_id}"' not in client.get("/review/disputes").get_data(as_text=True)
    response = decide(client, "/review/disputes", dispute_id=dispute_id, decision="uphold", outcome="mine")
    assert response.status_code == 403
    with own_session() as session:
        assert session.get(Dispute, dispute_id).status == "open"


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
        with own_session() as session:
            assert _propose_bonuses(session) >= 10
        clients = {email: app.test_client() for email in paths}
        for email, client in clients.items():
            assert sign_in(client, email).status_code == 302
        small = {(email, path): _statements(app, clients[email], path) for email in paths for path in paths[email]}
        get_session().rollback()  # the requests' shared session lets go of SQLite's lock (see own_session)
        org.grow(400)
        with own_session() as session:  # enough of each to fill a page
            assert _propose_bonuses(session) > 60
            assert session.scalar(select(Flag.id).offset(60).limit(1)) is not None
            assert session.scalar(select(Dispute.id).offset(60).limit(1)) is not None
        large = {(email, path): _statements(app, clients[email], path) for email in paths for path in paths[email]}
    assert large == small
