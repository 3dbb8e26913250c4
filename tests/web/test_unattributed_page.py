"""The unattributed queue: managers credit what no identity matched, and read it without the customer's details."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.db import transaction
from core.models import AuditEntry, Feedback
from tests.fixtures.org import csrf_token

from .test_team_pages import _text, _waiting_item

pytestmark = pytest.mark.usefixtures("session_per_request")


def test_mia_attributes_the_waiting_item_to_ann(client, login, worked_example):
    item_id = _waiting_item()
    login("mia@example.com")
    queue = client.get("/unattributed")
    assert "1 waiting" in _text(queue) and f'id="item-{item_id}"' in queue.get_data(as_text=True)
    token = csrf_token(queue.get_data(as_text=True))
    refused = client.post(f"/unattributed/{item_id}/attribute", data={"employee": "Dan", "csrf_token": token})
    assert refused.status_code == 400  # Billing's: not Mia's to name
    assert "employee: nobody in your scope is called &#39;Dan&#39;" in refused.get_data(as_text=True)
    # What a pick from the long list fills in: the name and team (it filled in an id)
    response = client.post(f"/unattributed/{item_id}/attribute", data={"employee": "Ann (Support)",
                                                                        "csrf_token": token})
    assert response.status_code == 303
    after = client.get("/unattributed")
    assert re.search(r"The csat item of 2026-11-\d\d \d\d:\d\d UTC now counts for Ann, from the next run of its "
                     r"period\.", _text(after)) and "0 waiting" in _text(after)
    with transaction() as session:
        item = session.get(Feedback, item_id)
        assert (item.employee_id, item.attribution_policy) == (worked_example.ids["ann"], "manual")
        assert session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "feedback.attributed",
                                                                AuditEntry.entity_id == str(item_id))) \
            == worked_example.manager


def test_a_manager_reads_waiting_comments_without_the_customers_details(client, as_user, worked_example):
    """A waiting item belongs to no team, so every manager reads it: a complaint about another team's new hire
    showed the customer's phone number to them all."""
    item_id = _waiting_item()
    with transaction() as session:
        item = session.get(Feedback, item_id)
        item.comment = "Nobody called back: ring me on +44 7700 900123 or jo@example.org"
        item.payload = {**(item.payload or {}), "url": "https://social.example/jo_customer/status/1"}
    as_user("mia@example.com")
    html = client.get("/unattributed").get_data(as_text=True)
    assert "Nobody called back: ring me on [number] or [e-mail]" in html
    assert "900123" not in html and "jo@example.org" not in html and "jo_customer" not in html  # nor their post
    as_user("hr@example.com")
    html = client.get("/unattributed").get_data(as_text=True)
    assert "ring me on +44 7700 900123 or jo@example.org" in html and "jo_customer/status/1" in html


def test_queue_refusals(client, login, worked_example):
    item_id = _waiting_item()
    login("mia@example.com")
    token = csrf_token(client.get("/unattributed").get_data(as_text=True))
    post = lambda path, **data: client.post(path, data={**data, "csrf_token": token})
    assert post(f"/unattributed/{item_id}/attribute", employee=worked_example.ids["dan"]).status_code == 403
    blank = post(f"/unattributed/{item_id}/attribute", employee="")
    assert blank.status_code == 400 and "employee: choose an employee" in _text(blank)
    assert f'href="#item-{item_id}"' in blank.get_data(as_text=True)  # still waiting: the error links to it
    assert post(f"/unattributed/{item_id}/attribute", employee="99999").status_code == 400
    # a manager cannot tell whether an item is another team's, so only HR keeps one for the organisation
    assert post(f"/unattributed/{item_id}/organisation").status_code == 403
    assert "Organisation only" not in client.get("/unattributed").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    login("hr@example.com")
    hr_token = csrf_token(client.get("/unattributed").get_data(as_text=True))
    assert client.post("/unattributed/99999/organisation", data={"csrf_token": hr_token}).status_code == 404
    assert client.post(f"/unattributed/{item_id}/organisation", data={"csrf_token": hr_token}).status_code == 303
    client.post("/logout", data={"csrf_token": hr_token})
    login("mia@example.com")
    token = csrf_token(client.get("/unattributed").get_data(as_text=True))  # a new session, a new token
    again = post(f"/unattributed/{item_id}/attribute", employee=worked_example.ids["ann"])
    assert again.status_code == 409 and "kept for the organisation only" in _text(again)
    # decided meanwhile, the item has left the list: no link to where it was
    assert f'href="#item-{item_id}"' not in again.get_data(as_text=True) and "It no longer waits here." in _text(again)
    with transaction() as session:
        item = session.get(Feedback, item_id)
        assert (item.employee_id, item.attribution_policy) == (None, "org_only")
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "feedback")))
        assert actions == ["feedback.kept_for_organisation"]
