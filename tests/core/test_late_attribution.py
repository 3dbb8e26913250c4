"""Late attribution: mapping an identity credits the items that waited for it, as if it had been known.

The social channel shows it end to end: a brand reply signed ``^MI`` waits while nobody has the sign-off,
and so does the customer's answer to it (no agent to propose). Importing people with the sign-off credits
the reply under ``author``, and the channel proposes Mike for the answer, exactly as had the sign-off been
mapped before the posts arrived. Items a person decided, and items offered under a basis the policy does
not accept, stay as they are.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from channels.social_monitoring.store import store_posts
from core.attribution_queue import attribute_item, keep_for_organisation
from core.db import transaction
from core.models import AuditEntry, Feedback, User
from core.people_import import import_people
from tests.fixtures.appraisal import WEEK

pytestmark = pytest.mark.usefixtures("session_per_request")

BRAND = "acmecare"


def _thread(key: str, signoff: str) -> list[dict]:
    """A customer's question, the brand's reply signed ``signoff``, and the customer's answer to it."""
    at = lambda minutes: (WEEK.start + timedelta(days=1, minutes=minutes)).isoformat()
    return [
        {"source": "tw", "external_id": f"ask-{key}", "text": f"@{BRAND} where is my parcel?", "author": "cust",
         "handles": [BRAND], "posted_at": at(0)},
        {"source": "tw", "external_id": f"reply-{key}", "text": f"@cust Let me check that for you ^{signoff}",
         "author": BRAND, "brand_reply": True, "in_reply_to": f"ask-{key}", "posted_at": at(30)},
        {"source": "tw", "external_id": f"answer-{key}", "text": f"@{BRAND} thanks, that was quick and kind",
         "author": "cust", "handles": [BRAND], "in_reply_to": f"reply-{key}", "posted_at": at(40)},
    ]


def _items(session) -> dict[str, Feedback]:
    return {item.external_id.removeprefix("tw:"): item
            for item in session.scalars(select(Feedback).where(Feedback.channel == "social_monitoring"))}


PEOPLE = "name,email,team,lead,identities\nMike,mike@example.com,Support,no,social_signoff:AcmeCare/MI\n"


def test_mapping_a_sign_off_credits_the_waiting_reply_and_proposes_its_agent(worked_example):
    with transaction() as session:
        store_posts(session, _thread("1", "MI"))
    with transaction() as session:
        before = _items(session)
        assert before["reply-1"].employee_id is None and before["reply-1"].offered_basis == "author"
        assert before["reply-1"].attributed_identity == f"social_signoff:{BRAND}/mi"
        assert before["answer-1"].proposed_employee_id is None  # no agent to propose yet

    with transaction() as session:
        report = import_people(session, PEOPLE.splitlines())
        assert not report.errors and report.credited == 1
    with transaction() as session:
        items = _items(session)
        mike = session.scalar(select(User.id).where(User.email == "mike@example.com"))  # no account: None
        reply, answer = items["reply-1"], items["answer-1"]
        assert reply.employee.name == "Mike" and reply.attribution_policy == "author"
        assert reply.team_id == reply.employee.team_id
        assert reply.value == 30.0  # its reply time was measured on arrival and stays
        assert answer.employee_id is None and answer.proposed_employee_id == reply.employee_id
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "feedback.credited_on_mapping"))
        assert entry.after == {"identity": f"social_signoff:{BRAND}/mi", "feedback_ids": [reply.id]}
        assert mike is None

    # importing the same file again credits nothing more
    with transaction() as session:
        assert import_people(session, PEOPLE.splitlines()).credited == 0


def test_decided_items_and_bases_the_policy_refuses_stay_as_they_are(app, worked_example):
    with transaction() as session:
        store_posts(session, _thread("kept", "MI") + _thread("later", "MI"))
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        keep_for_organisation(session, _items(session)["reply-kept"].id, hr)
    # A policy without ``author``: a reply stored now is offered under no basis the policy accepts.
    app.config["ATTRIBUTION_POLICY"] = ["subject", "assignee_at_solve"]
    try:
        with transaction() as session:
            store_posts(session, _thread("refused", "MI"))
            assert _items(session)["reply-refused"].offered_basis is None
            report = import_people(session, PEOPLE.splitlines())
            # ``reply-later`` was offered under ``author``, which the policy no longer accepts either
            assert report.credited == 0
    finally:
        app.config["ATTRIBUTION_POLICY"] = ["subject", "assignee_at_solve", "assignee_at_rating",
                                            "last_public_replier", "author"]
    with transaction() as session:
        items = _items(session)
        assert items["reply-kept"].attribution_policy == "org_only" and items["reply-kept"].employee_id is None
        assert items["reply-refused"].employee_id is None and items["reply-later"].employee_id is None


def test_crediting_a_reply_from_the_queue_proposes_its_agent_for_the_answer(worked_example):
    """A manager credits an unsigned reply by hand; the customer's answer to it then proposes that agent."""
    with transaction() as session:
        store_posts(session, _thread("2", "ZZ"))  # a sign-off nobody has
    with transaction() as session:
        items = _items(session)
        mia = session.get(User, worked_example.manager)
        attribute_item(session, items["reply-2"].id, mia, worked_example.ids["ann"])
    with transaction() as session:
        items = _items(session)
        assert items["reply-2"].employee_id == worked_example.ids["ann"]
        assert items["answer-2"].proposed_employee_id == worked_example.ids["ann"]
        assert items["answer-2"].employee_id is None  # proposed, never counted until confirmed


def test_the_import_command_says_how_many_waiting_items_it_credited(app, worked_example, tmp_path):
    with transaction() as session:
        store_posts(session, _thread("3", "MI"))
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    result = CliRunner().invoke(app.cli, ["org", "import", str(people)])
    assert result.exit_code == 0, result.output
    assert "1 waiting feedback item(s) credited to the identities just mapped" in result.output
