"""SQL injection and stored XSS in what customers, shoppers and employees write: stored verbatim, shown
escaped on every page that shows it, and no SQL effect (the tables are all there, with their rows)."""
from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select

from channels.mystery_shopper.models import Report
from channels.social_monitoring.store import store_posts
from core.db import transaction
from core.models import ApiToken, Dispute, EmployeeIdentity, Feedback, User
from tests.fixtures.app import row_counts
from tests.fixtures.mystery import assign_visit
from tests.fixtures.org import csrf_token, sign_in

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>'
SQL = "'); DROP TABLE feedback; -- \" OR 1=1; DELETE FROM users WHERE ''='"
HOSTILE = f"{SQL} {XSS}"
#: What must never reach a page unescaped.
LIVE = ("<script>alert", "<img src=x", '<a href="javascript:', "DROP TABLE feedback; -- \" OR")


def _alone(client):
    """Each request with its own database session, as when served (the example holds a context open)."""
    opened = client.open

    def end_session():
        session = g.pop("plaudit_session", None)
        if session is not None:
            session.close()

    def open_alone(*args, **kwargs):
        end_session()
        try:
            return opened(*args, **kwargs)
        finally:
            end_session()

    client.open = open_alone
    return client


@pytest.fixture
def client(client):
    return _alone(client)


def _shown_escaped(html: str, what: str) -> None:
    for live in LIVE:
        assert live not in html, f"{what}: {live!r} reached the page unescaped"
    assert "&lt;script&gt;alert(" in html, f"{what} does not show the comment at all"


def test_hostile_comments_are_stored_verbatim_and_shown_escaped(app, client, worked_example):
    ids = worked_example.ids
    with transaction() as session:
        session.add_all([EmployeeIdentity(employee_id=ids["ann"], provider="helpdesk", external_id="ann-1"),
                         EmployeeIdentity(employee_id=ids["ann"], provider="social_handle", external_id="ann_agent")])
        hr = session.get(User, worked_example.hr)
        row, plain = ApiToken.issue(hr, "hostile", ["feedback:write"])
        session.add(row)
        shopper = User(email="sam@agency.test", name="Sam", password_hash=hr.password_hash)
        shopper.roles = ["shopper"]
        session.add(shopper)
        assignment = assign_visit(session, hr, shopper, employee_id=ids["ann"])
        assignment_id = assignment.id
    api = {"Authorization": f"Bearer {plain}"}
    for response_id, agent in (("hostile-1", {"provider": "helpdesk", "id": "ann-1"}),
                               ("hostile-2", {"provider": "helpdesk", "id": "nobody"})):
        answer = {"response_id": response_id, "kind": "csat", "rating": 1, "comment": HOSTILE, "agent": agent,
                  "answered_at": "2026-11-03T10:15:00+00:00"}
        sent = client.post("/api/v1/channels/post_ticket_survey/feedback", json=answer, headers=api)
        assert sent.status_code in (201, 202), sent.get_json()
    with transaction() as session:
        report = store_posts(session, [
            {"source": "hostile", "external_id": "p-1", "posted_at": "2026-11-03T11:00:00+00:00",
             "text": f"@ann_agent {HOSTILE}", "sentiment": "negative"},
            {"source": "hostile", "external_id": "p-2", "posted_at": "2026-11-03T12:00:00+00:00",
             "text": HOSTILE, "sentiment": "negative"}])
        assert len(report.created) == 2, report
    # The shopper's free text (C1) through their own token.
    with transaction() as session:
        row, shopper_token = ApiToken.issue(session.scalar(select(User).where(User.email == "sam@agency.test")),
                                            "shopper", ["mystery:submit"])
        session.add(row)
    submitted = client.post(f"/api/v1/mystery/assignments/{assignment_id}/report", headers={
        "Authorization": f"Bearer {shopper_token}"}, json={
        "answers": {"W1": "yes", "W2": 4, "S1": "yes", "S2": "full", "S4": "no", "P1": "yes", "C1": HOSTILE},
        "visited_at": "2026-11-03T15:30:00+00:00", "receipt_number": "R-1",
        "integrity": {"identity_revealed": False, "knows_employee": False, "followed_scenario": True}})
    assert submitted.status_code == 201, submitted.get_json()
    report_id = submitted.get_json()["id"]
    run = worked_example.run()

    with transaction() as session:  # stored verbatim, not mangled or double-escaped
        assert session.scalar(select(Feedback.comment).where(Feedback.external_id == "hostile-1")) == HOSTILE
        assert session.scalar(select(Report.answers).where(Report.id == report_id))["C1"] == HOSTILE
        credited = session.scalar(select(Feedback.id).where(Feedback.external_id == "hostile-1"))

    # Ann disputes her item with a hostile reason: the review queue shows it.
    assert sign_in(client, "ann@example.com").status_code == 302
    own = client.get(f"/report?run={run}")
    _shown_escaped(own.get_data(as_text=True), "the employee's own report")
    disputed = client.post("/report/disputes", data={"feedback_id": credited, "reason": HOSTILE,
                                                    "csrf_token": csrf_token(own.get_data(as_text=True))})
    assert disputed.status_code == 302, disputed.get_data(as_text=True)[:500]
    with transaction() as session:
        assert session.scalar(select(Dispute.reason)) == HOSTILE

    hr_client = _alone(app.test_client())
    assert sign_in(hr_client, "hr@example.com").status_code == 302
    pages = {"report": f"/report/{ids['ann']}?run={run}", "responses": f"/team/responses?employee={ids['ann']}",
             "queue": "/unattributed", "dispute review": "/review/disputes",
             "mystery review": f"/channels/mystery_shopper/reviews/{report_id}"}
    for what, url in pages.items():
        page = hr_client.get(url)
        assert page.status_code == 200, (what, page.status_code)
        _shown_escaped(page.get_data(as_text=True), what)

    counts = row_counts(app)  # every table still there: the SQL never ran
    assert counts["users"] >= 7 and counts["feedback"] >= 40
    with transaction() as session:  # the two answers and the post naming nobody; the other starts "@ann_agent"
        assert session.scalar(select(func.count()).select_from(Feedback).where(Feedback.comment == HOSTILE)) == 3
