"""Social mentions in the unattributed queue: a manager confirms or rejects the agent the channel proposes.

A customer answering an agent's signed reply is proposed for that agent, never counted for them until a person
confirms it. Confirming credits the agent and changes their social sentiment in the next run; rejecting keeps
the mention for the organisation only. Both are audited; the page shows a manager only their own people.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from appraisal.guidelines import publish_guideline
from appraisal.models import AppraisalRun
from appraisal.results import run_rows
from channels.social_monitoring.channel import MENTION as KIND
from channels.social_monitoring.store import store_posts
from core.attribution_queue import (
    awaiting_attribution,
    confirm_proposal,
    reject_proposal,
)
from core.db import transaction
from core.models import AuditEntry, EmployeeIdentity, Feedback, User
from core.plugins import get_plugins
from tests.fixtures.app import counted_statements, row_counts
from tests.fixtures.appraisal import GUIDELINE, WEEK
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")

#: The built-in plugins/social_scores rule: mean sentiment of the posts credited to an employee.
RULE = "social_sentiment"
BRAND = "acmecare"
#: The agents' sign-offs in the brand's replies.
SIGNOFFS = {"ann": "AN", "bob": "BO", "dan": "DA"}
#: Two posts naming Ann's handle, so they are hers already.
PRAISE = {"ann-1": "@acmecare @ann_at_acme was brilliant, sorted my refund in minutes. Thank you so much!",
          "ann-2": "@acmecare @ann_at_acme great help today, really happy with the service"}
#: Per agent: a customer's question, the agent's signed reply, and the customer's answer to it, which the
#: channel proposes for the agent.
THREADS = {"ann": ("Where is my refund?", "This is terrible, still no refund and nobody cares. Awful, useless."),
           "bob": ("Why was I charged twice?", "Worst service ever, I am furious and disgusted, horrible."),
           "dan": ("Question about my bill", "Still waiting for an answer, very disappointed and angry")}


def _posts() -> list[dict]:
    at = lambda hours: (WEEK.start + timedelta(days=1, hours=hours)).isoformat()
    posts = [{"source": "twitter", "external_id": key, "text": text, "author": f"fan_{n}",
              "handles": [BRAND, "ann_at_acme"], "posted_at": at(n)}
             for n, (key, text) in enumerate(PRAISE.items())]
    for n, (who, (question, answer)) in enumerate(THREADS.items(), start=1):
        customer = f"cust_{n}"
        posts += [
            {"source": "twitter", "external_id": f"ask-{who}", "text": f"@{BRAND} {question}", "author": customer,
             "handles": [BRAND], "posted_at": at(10 * n)},
            {"source": "twitter", "external_id": f"reply-{who}",
             "text": f"@{customer} Looking into it ^{SIGNOFFS[who]}",
             "author": BRAND, "brand_reply": True, "in_reply_to": f"ask-{who}", "posted_at": at(10 * n + 1)},
            {"source": "twitter", "external_id": f"to-{who}", "text": f"@{BRAND} {answer}", "author": customer,
             "handles": [BRAND], "in_reply_to": f"reply-{who}", "posted_at": at(10 * n + 2)},
        ]
    return posts


@pytest.fixture
def social(worked_example):
    """The worked example with social sentiment weighed, the agents' sign-offs and Ann's handle mapped, and the
    posts stored: Ann's praise is hers; the answers to Ann's, Bob's and Billing's Dan's signed replies wait with
    a proposal each. Returns the items' ids by post."""
    ids = worked_example.ids
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        metrics = [{"rule": "csat_percent", "weight": 50}, {"rule": "nps", "weight": 30},
                   {"rule": RULE, "weight": 20, "min_n": 2}]
        publish_guideline(session, {**GUIDELINE, "metrics": metrics}, actor=hr, note="social sentiment weighed")
        session.add_all([EmployeeIdentity(employee_id=ids[who], provider="social_signoff",
                                          external_id=f"{BRAND}/{mark.lower()}")
                         for who, mark in SIGNOFFS.items()])
        session.add(EmployeeIdentity(employee_id=ids["ann"], provider="social_handle", external_id="ann_at_acme"))
        session.flush()
        report = store_posts(session, _posts())
        assert not report.rejected
        items = {external_id.removeprefix("twitter:"): item_id for external_id, item_id in session.execute(
            select(Feedback.external_id, Feedback.id).where(Feedback.channel == "social_monitoring"))}
        proposed = dict(session.execute(select(Feedback.id, Feedback.proposed_employee_id)
                                        .where(awaiting_attribution(), Feedback.kind == KIND)).all())
    # what the channel did: Ann's praise is hers, each answer to a signed reply proposes its agent
    assert {key: proposed.get(items[key], "credited") for key in (*PRAISE, "to-ann", "to-bob", "to-dan")} == {
        "ann-1": "credited", "ann-2": "credited",
        "to-ann": ids["ann"], "to-bob": ids["bob"], "to-dan": ids["dan"]}
    return items


def _social(run_id: int) -> dict:
    """Each employee's social sentiment metric in the run, by name."""
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        assert run.status == "completed", run.error
        return {row["employee"]: row["metrics"][RULE] for row in run_rows(session, run)}


def _audit(session, action: str) -> AuditEntry:
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == action))
    return entry


def test_confirming_changes_the_agents_metric_and_rejecting_counts_for_the_organisation_only(
        worked_example, social):
    ids = worked_example.ids
    before = _social(worked_example.run())
    assert before["Ann"]["n"] == 2 and before["Bob"]["n"] == 0  # proposals count for nobody yet
    with transaction() as session:
        mia = session.get(User, worked_example.manager)
        confirm_proposal(session, social["to-ann"], mia, note="her reply started the thread")
        reject_proposal(session, social["to-bob"], mia, note="Bob was off that day")
    after = _social(worked_example.run())
    assert after["Ann"]["n"] == 3 and after["Ann"]["value"] < before["Ann"]["value"]  # a complaint now hers
    assert after["Bob"]["n"] == 0 and after["Dan"]["n"] == 0
    with transaction() as session:
        confirmed, rejected = session.get(Feedback, social["to-ann"]), session.get(Feedback, social["to-bob"])
        assert (confirmed.employee_id, confirmed.attribution_policy) == (ids["ann"], "confirmed")
        assert (rejected.employee_id, rejected.attribution_policy) == (None, "org_only")
        # Every mention of the week stays in the organisation's mean, the rejected and the waiting ones too;
        # only the credited ones are in anybody's n.
        rule = get_plugins().scoring_rules[RULE]
        mean = lambda *where: session.scalar(select(func.avg(rule.points(Feedback, {}))).where(
            Feedback.kind == KIND, Feedback.occurred_at >= WEEK.start, Feedback.occurred_at < WEEK.end, *where))
        assert after["Ann"]["value"] == pytest.approx(mean(Feedback.employee_id == ids["ann"]))
        org_mean = mean()
        assert after["Ann"]["org_mean"] == pytest.approx(org_mean) == pytest.approx(before["Ann"]["org_mean"])
        assert sum(metric["n"] for metric in after.values()) == 3
        entry = _audit(session, "feedback.proposal_confirmed")
        assert (entry.actor_id, entry.entity_id, entry.note) == (
            worked_example.manager, str(social["to-ann"]), "her reply started the thread")
        assert (entry.before["employee_id"], entry.before["proposed_employee_id"]) == (None, ids["ann"])
        assert (entry.after["employee_id"], entry.after["attribution_policy"]) == (ids["ann"], "confirmed")
        entry = _audit(session, "feedback.proposal_rejected")
        assert (entry.actor_id, entry.entity_id) == (worked_example.manager, str(social["to-bob"]))
        assert (entry.before["attribution_policy"], entry.after["attribution_policy"]) == (None, "org_only")
        assert entry.after["employee_id"] is None and entry.after["proposed_employee_id"] == ids["bob"]


def _client(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302, email
    return client


def test_a_manager_confirms_on_the_page_and_is_refused_outside_their_teams(app, worked_example, social):
    ids = worked_example.ids
    mia = _client(app, "mia@example.com")
    page = mia.get("/unattributed").get_data(as_text=True)
    assert "Confirm: about Ann" in page and "Reject: not Bob" in page
    # Billing's Dan is not Mia's to name or decide about
    assert "Dan" not in page and "someone outside your teams" in page
    token = csrf_token(page)
    response = mia.post(f"/unattributed/{social['to-ann']}/confirm", data={"csrf_token": token})
    assert response.status_code == 303
    assert "you confirmed it is about Ann" in mia.get("/unattributed").get_data(as_text=True)
    with transaction() as session:
        item = session.get(Feedback, social["to-ann"])
        assert (item.employee_id, item.attribution_policy) == (ids["ann"], "confirmed")
        assert _audit(session, "feedback.proposal_confirmed").actor_id == worked_example.manager
    for decision in ("confirm", "reject"):
        before = row_counts(app)
        assert mia.post(f"/unattributed/{social['to-dan']}/{decision}",
                        data={"csrf_token": token}).status_code == 403
        assert row_counts(app) == before, decision
    ann = _client(app, "ann@example.com")
    ann_token = csrf_token(ann.get("/", follow_redirects=True).get_data(as_text=True))
    for decision in ("confirm", "reject"):
        before = row_counts(app)
        assert ann.post(f"/unattributed/{social['to-bob']}/{decision}",
                        data={"csrf_token": ann_token}).status_code == 403
        assert row_counts(app) == before, decision
    # without a CSRF token nothing is decided
    assert mia.post(f"/unattributed/{social['to-bob']}/reject").status_code == 400
    response = mia.post(f"/unattributed/{social['to-bob']}/reject?show=proposed", data={"csrf_token": token})
    assert response.status_code == 303 and "show=proposed" in response.headers["Location"]
    with transaction() as session:
        item = session.get(Feedback, social["to-bob"])
        assert (item.employee_id, item.attribution_policy, item.proposed_employee_id) == (
            None, "org_only", ids["bob"])
    # a proposal with nothing to propose is refused at the field, and HR reads every name
    no_proposal = mia.post(f"/unattributed/{_csat_waiting()}/confirm", data={"csrf_token": token})
    assert no_proposal.status_code == 400 and "proposed_employee: " in no_proposal.get_data(as_text=True)
    hr_page = _client(app, "hr@example.com").get("/unattributed").get_data(as_text=True)
    assert "Confirm: about Dan" in hr_page


def _csat_waiting() -> int:
    with transaction() as session:
        return session.scalar(select(Feedback.id).where(Feedback.kind == "csat", Feedback.employee_id.is_(None),
                                                        Feedback.attribution_policy.is_(None)))


def test_proposed_for_my_people_and_a_constant_number_of_queries(app, worked_example, social):
    mia = _client(app, "mia@example.com")
    mine = mia.get("/unattributed?show=proposed").get_data(as_text=True)
    assert f'id="item-{social["to-ann"]}"' in mine and f'id="item-{social["to-bob"]}"' in mine
    assert f'id="item-{social["to-dan"]}"' not in mine and f'id="item-{_csat_waiting()}"' not in mine
    assert "2 waiting" in mine
    assert mia.get("/unattributed?show=someone").status_code == 400

    def statements() -> dict[str, int]:
        counts = {}
        for who, client in (("mia", mia), ("hr", _client(app, "hr@example.com"))):
            for url in ("/unattributed", "/unattributed?show=proposed"):
                with counted_statements(app) as sent:
                    assert client.get(url).status_code == 200
                counts[who, url] = len(sent)
        return counts

    few = statements()
    with transaction() as session:
        store_posts(session, [{"source": "twitter", "external_id": f"more-{n}", "text": f"Reply number {n}",
                               "posted_at": (WEEK.start + timedelta(hours=n)).isoformat()} for n in range(40)])
        session.flush()
        more = session.scalars(select(Feedback).where(Feedback.external_id.like("twitter:more-%")))
        for n, item in enumerate(more):
            item.proposed_employee_id = worked_example.ids[("ann", "bob", "cat", "dan")[n % 4]]
    assert statements() == few


def test_the_queue_links_a_post_to_where_it_was_published(app, worked_example, social):
    """A manager deciding a proposal can open the post itself; only web addresses become links."""
    with transaction() as session:
        store_posts(session, [{"source": "twitter", "external_id": "linked", "text": "@acmecare meh",
                               "url": "https://social.example/acme/1", "posted_at": WEEK.start.isoformat()}])
        item = session.scalar(select(Feedback).where(Feedback.external_id == "twitter:linked"))
        item.proposed_employee_id = worked_example.ids["ann"]
        ftp = session.scalar(select(Feedback).where(Feedback.external_id == "twitter:to-bob"))
        ftp.payload = {**ftp.payload, "url": "ftp://files.example/x"}
    page = _client(app, "mia@example.com").get("/unattributed").get_data(as_text=True)
    assert '<a href="https://social.example/acme/1" rel="noopener noreferrer nofollow"' in page
    assert "ftp://files.example/x" not in page
