"""The comment visibility policy: what an employee may read of what customers wrote."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appraisal.comments import employee_comments, redact
from core.db import transaction
from core.models import Employee, Feedback
from tests.fixtures.appraisal import WEEK


@pytest.mark.parametrize("text, expected", [
    ("Mail me at jane.doe+x@example.co.uk please", "Mail me at [e-mail] please"),
    ("call +44 20 7946 0958 or (555) 123-4567", "call [number] or ([number]"),
    ("see https://shop.example.com/orders/123456789?t=abc", "see [link]"),
    ("thanks @jane_doe!", "thanks [handle]!"),
    ("card 4111 1111 1111 1111 was charged twice", "card [number] was charged twice"),
    ("order 42 took 3 days", "order 42 took 3 days"),  # short numbers say nothing about anyone
])
def test_redaction_takes_out_what_identifies_a_customer(text, expected):
    assert redact(text) == expected


@pytest.fixture
def comments(app_context):
    with transaction() as session:
        ann = Employee(name="Ann", email="ann@example.com")
        session.add(ann)
        session.flush()
        for index, (kind, value, scale, comment) in enumerate([
                ("csat", 5, (1, 5), "Ann was great, write to me at bob@example.com"),
                ("csat", 2, (1, 5), "Too slow. My number is 0201 234 5678"),
                ("nps", 9, (0, 10), "Would recommend"),
                ("nps", 8, (0, 10), "Fine"),
                ("csat", 3, (1, 5), None)]):
            session.add(Feedback(channel="t", kind=kind, external_id=str(index), value=value, scale_min=scale[0],
                                 scale_max=scale[1], comment=comment, employee_id=ann.id,
                                 occurred_at=datetime(2026, 11, 3, 10, index, tzinfo=UTC)))
        return ann.id


@pytest.mark.parametrize("policy, expected", [
    ("all", [("Fine", False), ("Would recommend", True), ("Too slow. My number is 0201 234 5678", False),
             ("Ann was great, write to me at bob@example.com", True)]),
    ("redacted", [("Fine", False), ("Would recommend", True), ("Too slow. My number is [number]", False),
                  ("Ann was great, write to me at [e-mail]", True)]),
    ("positive_only", [("Would recommend", True), ("Ann was great, write to me at [e-mail]", True)]),
    ("none", []),
])
def test_each_policy_shows_what_it_says(comments, policy, expected):
    with transaction() as session:
        shown = employee_comments(session, comments, WEEK.start, WEEK.end, policy)
    assert [(c["comment"], c["positive"]) for c in shown] == expected


def test_a_positive_post_is_praise_and_an_agents_own_reply_is_no_customers_comment(app_context):
    """Sentiment (-1 to 1) is positive above VADER's neutral band, not only at 1; a reply time's text is the
    agent's own words, so it is not among what customers said."""
    with transaction() as session:
        ann = Employee(name="Ann", email="ann@example.com")
        session.add(ann)
        session.flush()
        at = lambda minute: datetime(2026, 11, 3, 11, minute, tzinfo=UTC)
        session.add_all([
            Feedback(channel="s", kind="social_mention", external_id="m1", value=0.62, scale_min=-1, scale_max=1,
                     comment="@acme Ann sorted it, thanks!", employee_id=ann.id, occurred_at=at(1)),
            Feedback(channel="s", kind="social_mention", external_id="m2", value=0.01, scale_min=-1, scale_max=1,
                     comment="@acme ok", employee_id=ann.id, occurred_at=at(2)),
            Feedback(channel="s", kind="social_mention", external_id="m3", value=-0.7, scale_min=-1, scale_max=1,
                     comment="@acme still broken", employee_id=ann.id, occurred_at=at(3)),
            Feedback(channel="s", kind="social_reply", external_id="r1", value=12.0, comment="On it! ^AN",
                     employee_id=ann.id, occurred_at=at(4))])
        session.flush()
        shown = employee_comments(session, ann.id, WEEK.start, WEEK.end, "all")
    assert [(c["comment"], c["positive"]) for c in shown] == [
        ("@acme still broken", False), ("@acme ok", False), ("@acme Ann sorted it, thanks!", True)]
