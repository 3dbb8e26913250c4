"""What the channel takes from one post, whichever source brought it: the handles its text names, its time."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from channels.social_monitoring.handles import named_handles
from channels.social_monitoring.store import store_posts
from core.db import transaction
from core.models import EmployeeIdentity, Feedback, utcnow
from tests.fixtures.appraisal import WEEK

pytestmark = pytest.mark.usefixtures("session_per_request")


def _post(external_id: str, text: str, **extra) -> dict:
    return {"source": "push", "external_id": external_id, "text": text, "author": "cust",
            "posted_at": (WEEK.start + timedelta(hours=1)).isoformat(), **extra}


def test_handles_come_from_the_text_first_then_from_the_source_each_once():
    assert named_handles("@AcmeCare thanks @ann_at_acme! mail me at x@y.io", ["ACMECARE", "@bob"]) == [
        "AcmeCare", "ann_at_acme", "bob"]
    assert named_handles(None, ()) == []


def test_a_post_naming_an_agent_only_in_its_text_is_credited_to_them(worked_example):
    """A push or a plugin client need not list handles: the @handle in the text is enough."""
    with transaction() as session:
        session.add(EmployeeIdentity(employee_id=worked_example.ids["ann"], provider="social_handle",
                                     external_id="ann_at_acme"))
        session.flush()
        report = store_posts(session, [_post("1", "@AcmeCare thanks @Ann_At_Acme, great help")])
        assert not report.rejected
        item = session.scalar(select(Feedback).where(Feedback.external_id == "push:1"))
        assert item.employee_id == worked_example.ids["ann"] and item.attribution_policy == "subject"


def test_a_post_dated_in_the_future_is_refused_at_posted_at(worked_example):
    ahead = (utcnow() + timedelta(days=3)).isoformat()
    with transaction() as session:
        report = store_posts(session, [_post("2", "hello", posted_at=ahead),
                                       _post("3", "a little fast clock",
                                             posted_at=(utcnow() + timedelta(minutes=1)).isoformat())])
        [rejected] = report.rejected
        assert rejected.index == 0 and "future" in rejected.errors["posted_at"][0]
        assert [stored.external_id for stored in report.created] == ["push:3"]
