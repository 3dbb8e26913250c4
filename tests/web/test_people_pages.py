"""HR's people pages: who works here and who has left, and recording a leaving or a return from the browser.

Before them, HR could mark a leaver only with ``plaudit org deactivate`` on the server. The pages follow the same
rules (core/leavers.py), refuse a wrong day at its field, and leave nothing half done.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core import local_time
from core.db import transaction
from core.models import AuditEntry, Employee, User
from tests.fixtures.org import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")


def _hr(app):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    return client


def _record(client, employee_id: int, **form):
    page = client.get(f"/people/{employee_id}")
    assert page.status_code == 200
    return client.post(f"/people/{employee_id}", data={"csrf_token": csrf_token(page.get_data(as_text=True)), **form})


def _state(employee_id: int, email: str) -> tuple:
    with transaction() as session:
        employee = session.get(Employee, employee_id)
        return employee.active, employee.left_on, session.scalar(select(User.active).where(User.email == email))


def test_hr_finds_people_by_status_team_and_name(app, worked_example):
    client = _hr(app)
    listed = client.get("/people").get_data(as_text=True)
    assert all(f">{name}</a>" in listed for name in ("Ann", "Bob", "Cat", "Dan", "Mia Manager"))
    assert "5 people." in listed
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com", "--left-on",
                                              "2026-11-04"]).exit_code == 0
    left = client.get("/people?status=left").get_data(as_text=True)
    assert ">Bob</a>" in left and ">Ann</a>" not in left and "2026-11-04" in left and "1 person." in left
    assert ">Bob</a>" not in client.get("/people").get_data(as_text=True)  # the employed, by default
    with transaction() as session:
        billing = session.get(Employee, worked_example.ids["dan"]).team_id
    in_billing = client.get(f"/people?team={billing}").get_data(as_text=True)
    assert ">Dan</a>" in in_billing and ">Ann</a>" not in in_billing
    found = client.get("/people?status=all&q=MANAGER").get_data(as_text=True)
    assert ">Mia Manager</a>" in found and "1 person." in found
    assert "0 people." in client.get("/people?q=100%25").get_data(as_text=True)  # % is a character, not a wildcard
    wrong = client.get("/people?status=gone")
    assert wrong.status_code == 400 and "status" in wrong.get_data(as_text=True)


def test_hr_records_that_someone_left_and_their_account_closes(app, worked_example):
    bob = worked_example.ids["bob"]
    client = _hr(app)
    answer = _record(client, bob, left_on="2026-11-04")
    assert answer.status_code == 303
    assert _state(bob, "bob@example.com") == (False, date(2026, 11, 4), False)
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert ("Bob left on 2026-11-04: runs of the periods they worked in appraise them, later ones leave them out."
            in page and "Their account bob@example.com can no longer sign in or use its API tokens." in page)
    with transaction() as session:
        entries = session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.after).where(
            AuditEntry.action.in_(["employee.deactivated", "user.deactivated"])).order_by(AuditEntry.id)).all()
    assert [(action, actor) for action, actor, _ in entries] == [
        ("user.deactivated", worked_example.hr), ("employee.deactivated", worked_example.hr)]
    assert entries[1].after == {"active": False, "left_on": "2026-11-04"}
    # the week he worked in still appraises him
    with transaction() as session:
        from appraisal.models import AppraisalResult

        run = worked_example.run()
        assert session.scalar(select(AppraisalResult.rank).where(AppraisalResult.run_id == run,
                                                                 AppraisalResult.employee_id == bob)) is not None


@pytest.mark.parametrize(("left_on", "error"), [
    ("2999-01-01", "2999-01-01 is still to come: the day they left must have passed"),
    ("4 November", "give a day as YYYY-MM-DD, such as 2026-11-20"),
    ("2026-10-31", "2026-10-31 is before they joined (2026-11-02)"),
])
def test_a_wrong_day_is_refused_at_its_field_and_nothing_changes(app, worked_example, left_on, error):
    bob = worked_example.ids["bob"]
    with transaction() as session:
        session.get(Employee, bob).started_on = date(2026, 11, 2)
    answer = _record(_hr(app), bob, left_on=left_on)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert f'<p class="error" id="left_on-error">{error}</p>' in page
    assert 'aria-invalid="true"' in page and "Nothing was recorded:" in page
    assert _state(bob, "bob@example.com") == (True, None, True)


def test_the_only_admins_account_is_not_closed_with_them_half_way(app, session, create_employee, create_user):
    ada = create_employee("Ada", email="ada@example.com")
    create_user("ada@example.com", roles=["admin"], employee=ada)
    create_user("hr@example.com", roles=["hr"])
    answer = _record(_hr(app), ada.id)
    assert answer.status_code == 400
    assert "ada@example.com is an admin&#39;s account" in answer.get_data(as_text=True)
    assert _state(ada.id, "ada@example.com") == (True, None, True)  # neither the employee nor the account
    kept = _record(_hr(app), ada.id, keep_account="y")
    assert kept.status_code == 303
    active, left_on, account_active = _state(ada.id, "ada@example.com")
    assert (active, left_on, account_active) == (False, local_time.today(), True)


def test_hr_corrects_the_day_and_brings_someone_back(app, worked_example):
    bob = worked_example.ids["bob"]
    client = _hr(app)
    assert _record(client, bob, left_on="2026-11-04", keep_account="y").status_code == 303
    page = client.get(f"/people/{bob}").get_data(as_text=True)
    assert 'value="2026-11-04"' in page and "Correct the day they left" in page
    assert _record(client, bob, left_on="2026-11-06").status_code == 303
    assert _state(bob, "bob@example.com") == (False, date(2026, 11, 6), True)  # the account kept as it was

    page = client.get(f"/people/{bob}").get_data(as_text=True)
    back = client.post(f"/people/{bob}/return", data={"csrf_token": csrf_token(page)})
    assert back.status_code == 303
    assert _state(bob, "bob@example.com") == (True, None, True)
    assert "Bob is employed again" in client.get(f"/people/{bob}").get_data(as_text=True)
    again = client.post(f"/people/{bob}/return", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Bob is already employed: nothing changed." in again.get_data(as_text=True)


def test_an_unknown_person_is_a_404(app, worked_example):
    client = _hr(app)
    assert client.get("/people/999999").status_code == 404


def test_hr_sets_the_day_someone_joined_and_the_week_before_leaves_them_out(app, worked_example):
    from appraisal.models import AppraisalResult
    from tests.fixtures.appraisal import BEFORE

    ann = worked_example.ids["ann"]
    client = _hr(app)
    page = client.get(f"/people/{ann}").get_data(as_text=True)
    answer = client.post(f"/people/{ann}/joined", data={"csrf_token": csrf_token(page), "started_on": "2026-11-05"})
    assert answer.status_code == 303
    assert "Ann joined on 2026-11-05: runs of periods that end before it leave them out" in client.get(
        answer.headers["Location"]).get_data(as_text=True)
    with transaction() as session:
        assert session.get(Employee, ann).started_on == date(2026, 11, 5)
        assert session.execute(select(AuditEntry.actor_id, AuditEntry.before, AuditEntry.after).where(
            AuditEntry.action == "employee.updated")).one() == (
            worked_example.hr, {"started_on": None}, {"started_on": "2026-11-05"})
    run = worked_example.run(period=BEFORE)
    with transaction() as session:
        assert ann not in set(session.scalars(select(AppraisalResult.employee_id).where(
            AppraisalResult.run_id == run)))
    # empty: not known, counted from the start again
    assert client.post(f"/people/{ann}/joined", data={"csrf_token": csrf_token(page),
                                                      "started_on": ""}).status_code == 303
    with transaction() as session:
        assert session.get(Employee, ann).started_on is None


def test_a_joining_day_after_the_day_they_left_is_refused_at_its_field(app, worked_example):
    bob = worked_example.ids["bob"]
    client = _hr(app)
    assert _record(client, bob, left_on="2026-11-04").status_code == 303
    page = client.get(f"/people/{bob}").get_data(as_text=True)
    answer = client.post(f"/people/{bob}/joined", data={"csrf_token": csrf_token(page), "started_on": "2026-11-05"})
    assert answer.status_code == 400
    assert ('<p class="error" id="started_on-error">2026-11-05 is after the day they left (2026-11-04)</p>'
            in answer.get_data(as_text=True))
    with transaction() as session:
        assert session.get(Employee, bob).started_on is None
    wrong = client.post(f"/people/{bob}/joined", data={"csrf_token": csrf_token(page), "started_on": "05/11/2026"})
    assert wrong.status_code == 400 and "give a day as YYYY-MM-DD" in wrong.get_data(as_text=True)


def test_correcting_a_leavers_day_needs_a_day_and_never_touches_their_account(app, worked_example):
    """Sent empty, the correction closed the account still kept active, then failed with a 500 for someone with
    no day they left."""
    bob = worked_example.ids["bob"]
    with transaction() as session:  # deactivated before the days were kept: no day, and his account kept
        session.get(Employee, bob).active = False
    client = _hr(app)
    empty = _record(client, bob, left_on="")
    assert empty.status_code == 400 and "give the day they left" in empty.get_data(as_text=True)
    assert _state(bob, "bob@example.com") == (False, None, True)
    given = _record(client, bob, left_on="2026-11-04")
    assert given.status_code == 303
    assert _state(bob, "bob@example.com") == (False, date(2026, 11, 4), True)
    assert "Bob left on 2026-11-04, the day is corrected" in client.get(f"/people/{bob}").get_data(as_text=True)
    same = _record(client, bob, left_on="2026-11-04")
    assert "Bob had already left on 2026-11-04: nothing changed." in client.get(
        same.headers["Location"]).get_data(as_text=True)


def test_hr_closes_neither_their_own_account_nor_an_admins(app, session, create_employee, create_user):
    hana, ada = create_employee("Hana", email="hana@example.com"), create_employee("Ada", email="ada@example.com")
    create_user("hr@example.com", roles=["hr"], employee=hana)
    create_user("ada@example.com", roles=["admin"], employee=ada)
    create_user("root@example.com", roles=["admin"])
    client = _hr(app)
    own = _record(client, hana.id)
    assert own.status_code == 400 and "this is your own account" in own.get_data(as_text=True)
    admins = _record(client, ada.id)
    assert admins.status_code == 400 and "ada@example.com is an admin&#39;s account" in admins.get_data(as_text=True)
    assert _state(hana.id, "hr@example.com") == (True, None, True)
    assert _state(ada.id, "ada@example.com") == (True, None, True)
    kept = _record(client, ada.id, keep_account="y")  # the leaving itself is HR's to record
    assert kept.status_code == 303 and _state(ada.id, "ada@example.com")[::2] == (False, True)


def test_a_department_lists_everyone_in_its_teams_and_the_messages_say_what_happened(app, worked_example):
    from core.models import Team

    bob = worked_example.ids["bob"]
    with transaction() as session:
        service = Team(name="Service", slug="service")
        session.add(service)
        session.flush()
        for team in session.scalars(select(Team).where(Team.name.in_(["Support", "Billing"]))):
            team.parent_id = service.id
        service_id = service.id
    client = _hr(app)
    listed = client.get(f"/people?team={service_id}").get_data(as_text=True)
    assert all(f">{name}</a>" in listed for name in ("Ann", "Bob", "Cat", "Dan"))  # it had listed nobody

    impossible = _record(client, bob, left_on="2026-13-01")
    assert "2026-13-01 is not a day of the calendar" in impossible.get_data(as_text=True)
    kept = _record(client, bob, left_on="2026-11-04", keep_account="y")
    assert "Their account bob@example.com stays active." in client.get(kept.headers["Location"]).get_data(
        as_text=True)
    with transaction() as session:
        session.scalar(select(User).where(User.email == "bob@example.com")).active = False
    page = client.get(f"/people/{bob}").get_data(as_text=True)
    back = client.post(f"/people/{bob}/return", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert ("Their account is still inactive: an admin activates it (plaudit users activate bob@example.com)."
            in back.get_data(as_text=True))
    future = client.post(f"/people/{bob}/joined", data={"csrf_token": csrf_token(page), "started_on": "2999-01-04"},
                         follow_redirects=True)
    assert "Bob joins on 2999-01-04" in future.get_data(as_text=True)
