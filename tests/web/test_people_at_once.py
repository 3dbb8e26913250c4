"""Two HR people changing one person's days at once: the second reads what the first did, and is refused with a
reason, rather than breaking a rule the database keeps (migration 0025) and answering 500."""
from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy.exc import SQLAlchemyError

from core.db import transaction
from core.models import Employee
from core.tenure import record_leaving
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")


def _post(client, path: str, answers: list, **form) -> None:
    try:
        answers.append(client.post(path, data=form))
    except SQLAlchemyError as exc:  # the test client raises what the app did not handle
        answers.append(exc)


def test_a_joining_day_given_while_a_colleague_records_the_leaving_waits_and_is_refused(app, worked_example):
    bob = worked_example.ids["bob"]
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    token = csrf_token(client.get(f"/people/{bob}").get_data(as_text=True))
    answers = []
    with transaction() as colleague:
        if colleague.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: the two cannot overlap")
        record_leaving(colleague, colleague.get(Employee, bob, with_for_update=True), date(2026, 11, 4),
                       keep_account=True)
        colleague.flush()  # written, not committed: the page's request starts meanwhile
        joining = threading.Thread(target=_post, args=(client, f"/people/{bob}/joined", answers),
                                   kwargs={"csrf_token": token, "started_on": "2026-11-10"})
        joining.start()
        time.sleep(0.5)
    joining.join(30)
    answer = answers[0]
    assert not isinstance(answer, Exception), answer  # before: IntegrityError, ck_employees_joined_before_left
    assert answer.status_code == 400, answer.status_code
    assert "2026-11-10 is after the day they left (2026-11-04)" in answer.get_data(as_text=True)
    with transaction() as session:
        person = session.get(Employee, bob)
        assert (person.active, person.left_on, person.started_on) == (False, date(2026, 11, 4), None)
