"""HR erases a customer's data on the web: checked first, erased only once confirmed, audited without the
identifiers, which no URL, flash or log holds."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from core.db import transaction
from core.ingestion import respondent_ref
from core.models import AuditEntry, Feedback
from tests.fixtures.org import csrf_token

pytestmark = pytest.mark.usefixtures("session_per_request")
JANE = "jane.doe@example.com"


@pytest.fixture
def janes_answers(app, worked_example) -> list[int]:
    """Two of the worked example's answers, given by Jane with a comment."""
    with transaction() as session:
        items = session.scalars(select(Feedback).where(Feedback.employee_id == worked_example.ids["ann"])
                                .order_by(Feedback.id).limit(2)).all()
        for item in items:
            item.respondent_ref, item.comment = respondent_ref(JANE, app.config["RESPONDENT_SALT"]), "Jane here"
        return [item.id for item in items]


def _stored(ids) -> list[tuple]:
    with transaction() as session:
        return session.execute(select(Feedback.respondent_ref.is_(None), Feedback.comment, Feedback.value)
                               .where(Feedback.id.in_(ids)).order_by(Feedback.id)).all()


def test_hr_checks_then_erases_a_customer_and_the_numbers_stay(app, client, login, janes_answers, caplog):
    caplog.set_level(logging.DEBUG)
    login("hr@example.com")
    before = _stored(janes_answers)
    page = client.get("/privacy").get_data(as_text=True)
    assert 'name="action" value="erase"' not in page  # nothing to erase before a check
    checked = client.post("/privacy", data={"csrf_token": csrf_token(page), "identifiers": f" {JANE.upper()} \n\n",
                                            "note": "DSR-7", "action": "check"})
    html = " ".join(checked.get_data(as_text=True).split())
    assert checked.status_code == 200 and "2 feedback item(s): test csat 2, 2 with a comment" in html
    assert _stored(janes_answers) == before  # a check writes nothing
    checked_ref = re.search(r'name="checked_ref" value="([0-9a-f]{64})"', html).group(1)  # a hash, not Jane
    # Erasing asks for the confirmation first, and keeps what was typed
    unconfirmed = client.post("/privacy", data={"csrf_token": csrf_token(html), "identifiers": JANE,
                                                "note": "DSR-7", "action": "erase", "checked_ref": checked_ref})
    assert unconfirmed.status_code == 400 and 'href="#confirmed"' in unconfirmed.get_data(as_text=True)
    # Identifiers edited after the check are checked again, not erased
    edited = client.post("/privacy", data={"csrf_token": csrf_token(html), "identifiers": f"{JANE}\n@janedoe",
                                           "action": "erase", "confirmed": "yes", "checked_ref": checked_ref})
    assert edited.status_code == 400 and "they changed since the check" in edited.get_data(as_text=True)
    assert "What would be erased" in edited.get_data(as_text=True)
    assert _stored(janes_answers) == before
    erased = client.post("/privacy", data={"csrf_token": csrf_token(html), "identifiers": JANE, "note": "DSR-7",
                                           "action": "erase", "confirmed": "yes", "checked_ref": checked_ref})
    assert erased.status_code == 303 and erased.location.endswith("/privacy")
    after = client.get("/privacy").get_data(as_text=True)
    assert re.search(r"Erased 2 feedback item\(s\), 2 comment\(s\).*audited as request [0-9a-f]{12}", after)
    assert [(gone, comment, value) for gone, comment, value in _stored(janes_answers)] == [
        (True, "[erased]", value) for _, _, value in before]  # the values stay: appraisals keep their numbers
    with transaction() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.erased"))
        assert entry.actor_id is not None and entry.note == "DSR-7"
    # The address was in no URL, cookie, log line or audit entry
    assert JANE not in caplog.text.lower() and JANE not in str(entry.after) + str(entry.entity_id)
    assert all(JANE not in cookie.value.lower() for cookie in client._cookies.values())


def test_a_customer_with_nothing_stored_is_told_so_and_offered_no_erasure(client, login, janes_answers):
    login("hr@example.com")
    checked = client.post("/privacy", data={"csrf_token": csrf_token(client.get("/privacy").get_data(as_text=True)),
                                            "identifiers": "nobody@nowhere.test", "action": "check"})
    html = checked.get_data(as_text=True)
    assert "Nothing is stored under these identifiers" in html and 'value="erase"' not in html


def test_a_request_at_fault_names_its_fields_and_erases_nothing(client, login, janes_answers):
    login("hr@example.com")
    before = _stored(janes_answers)
    page = client.get("/privacy").get_data(as_text=True)
    refused = client.post("/privacy", data={"csrf_token": csrf_token(page), "identifiers": " \n ",
                                            "note": "x" * 501, "action": "erase", "confirmed": "yes"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'href="#identifiers"' in html and 'href="#note"' in html
    assert "at most 500 characters (501 given)" in html
    assert _stored(janes_answers) == before


def test_the_check_names_channels_by_their_titles(app, client, login, janes_answers):
    with transaction() as session:
        session.get(Feedback, janes_answers[0]).channel = "post_ticket_survey"
    login("hr@example.com")
    page = client.get("/privacy").get_data(as_text=True)
    checked = client.post("/privacy", data={"csrf_token": csrf_token(page), "identifiers": JANE, "action": "check"})
    html = " ".join(checked.get_data(as_text=True).split())
    assert "2 feedback item(s): Post-ticket surveys csat 1, test csat 1," in html
