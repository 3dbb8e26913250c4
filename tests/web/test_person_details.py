"""HR adds a person and corrects their name, team, identities and e-mail on the web.

Before these pages only the organisation file (``plaudit org import``) and ``plaudit org set-email`` did it, on
the server. The pages go through the same code, so the rules, the audit and the crediting of waiting feedback
are the import's; what they add is a refusal at each field and nothing written when one is refused.
"""
from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from channels.social_monitoring.store import store_posts
from core.db import transaction
from core.models import AuditEntry, Employee, EmployeeIdentity, Feedback, Team, User
from tests.core.test_late_attribution import BRAND, _thread
from tests.fixtures.org import post_form, sign_in

pytestmark = pytest.mark.usefixtures("session_per_request")


def _hr(app):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    return client


def _counts() -> tuple[int, int, int]:
    with transaction() as session:
        return (session.scalar(select(func.count()).select_from(Employee)),
                session.scalar(select(func.count()).select_from(Team)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def test_hr_adds_someone_to_a_new_team_and_what_waited_for_their_sign_off_is_theirs(app, worked_example):
    with transaction() as session:
        store_posts(session, _thread("1", "MI"))
    client = _hr(app)
    assert "Add a person" in client.get("/people").get_data(as_text=True)
    answer = post_form(client, "/people/new", {"name": "Mike Lee", "email": "Mike.Lee@example.com", "team": "Returns",
                                           "lead": "y", "identities": f"social_signoff:{BRAND}/MI; phone:214",
                                           "started_on": "2026-11-02"})
    assert answer.status_code == 303
    page = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert ("Mike Lee is added to Returns (a new team) and leads it; 1 feedback item waiting for their identities "
            "is credited to them.") in page
    with transaction() as session:
        mike = session.scalar(select(Employee).where(Employee.email == "mike.lee@example.com"))
        assert (mike.name, mike.team.name, mike.team.manager_id, str(mike.started_on)) == (
            "Mike Lee", "Returns", mike.id, "2026-11-02")
        assert {(i.provider, i.external_id) for i in mike.identities} == {
            ("social_signoff", f"{BRAND}/mi"), ("phone", "214")}
        assert session.scalar(select(Feedback.employee_id).where(Feedback.external_id == "tw:reply-1")) == mike.id
        audited = session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.note).where(
            AuditEntry.action.in_(["employee.created", "team.created", "team.lead_set",
                                   "feedback.credited_on_mapping"]))).all()
    assert sorted(audited) == sorted((action, worked_example.hr, note) for action, note in [
        ("team.created", "people page"), ("employee.created", "people page"), ("team.lead_set", "people page"),
        ("feedback.credited_on_mapping", None)])


@pytest.mark.parametrize(("form", "field", "error"), [
    ({"name": "", "email": "x@example.com", "team": "Support"}, "name", "give their name"),
    ({"name": "X", "email": "not an address", "team": "Support"}, "email", "Not a valid email address."),
    ({"name": "X", "email": "ANN@example.com", "team": "Support"}, "email", "Ann has this address already"),
    ({"name": "X", "email": "x@example.com", "team": "SUPPORT"}, "team", "'SUPPORT' clashes with team 'Support'"),
    ({"name": "X", "email": "x@example.com", "team": "Support", "identities": "zendesk 361"}, "identities",
     "'zendesk 361' is not provider:id"),
    ({"name": "X", "email": "x@example.com", "team": "Support", "started_on": "2 Nov"}, "started_on",
     "give a day as YYYY-MM-DD"),
])
def test_a_wrong_field_is_refused_where_it_is_typed_and_nobody_is_added(app, worked_example, form, field, error):
    client = _hr(app)
    before = _counts()
    answer = post_form(client, "/people/new", form)
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400 and "Nobody was added:" in page
    assert f'id="{field}-error">' in page and error in page.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert _counts() == before


def test_an_identity_someone_else_holds_is_refused_saying_how_to_pass_it_on(app, worked_example):
    with transaction() as session:
        session.add(EmployeeIdentity(employee_id=worked_example.ids["ann"], provider="phone", external_id="214"))
    client = _hr(app)
    before = _counts()
    page = html.unescape(post_form(client, "/people/new", {"name": "X", "email": "x@example.com", "team": "Support",
                                                       "identities": "phone:214"}).get_data(as_text=True))
    assert ("phone:214 already belongs to ann@example.com: leave it out here; if it is this person's now, move it "
            "on the server with plaudit org move-identity phone:214 --to EMPLOYEE") in page
    assert _counts() == before


def test_hr_renames_moves_and_makes_someone_lead_and_the_audit_says_who(app, worked_example):
    dan = worked_example.ids["dan"]
    client = _hr(app)
    edit = client.get(f"/people/{dan}/edit").get_data(as_text=True)
    assert 'value="Dan"' in edit and 'value="Billing"' in edit and '<option value="Support">' in edit
    answer = post_form(client, f"/people/{dan}/edit", {"name": "Daniel Ortiz", "team": "Support", "lead": "y",
                                                   "identities": "zendesk:88"})
    assert answer.status_code == 303
    page = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert ("Daniel Ortiz: name Dan -> Daniel Ortiz; team Billing -> Support; identity zendesk:88 added; leads "
            "Support.") in page
    with transaction() as session:
        daniel = session.get(Employee, dan)
        assert (daniel.name, daniel.team.name, daniel.team.manager_id, daniel.active) == (
            "Daniel Ortiz", "Support", dan, True)
        updated = session.scalar(select(AuditEntry).where(AuditEntry.action == "employee.updated"))
        assert (updated.actor_id, updated.before, updated.after) == (
            worked_example.hr, {"name": "Dan", "team": "Billing"},
            {"name": "Daniel Ortiz", "team": "Support", "identities_added": ["zendesk:88"]})
    assert 'checked id="lead"' in client.get(f"/people/{dan}/edit").get_data(as_text=True)  # he leads it now
    # saved again as it is: nothing changes, nothing is audited
    before = _counts()
    again = post_form(client, f"/people/{dan}/edit", {"name": "Daniel Ortiz", "team": "Support"})
    assert "Daniel Ortiz: nothing changed." in client.get(again.headers["Location"]).get_data(as_text=True)
    assert _counts() == before


def test_a_leaver_corrected_stays_a_leaver_and_is_made_lead_of_nothing(app, worked_example):
    bob = worked_example.ids["bob"]
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "bob@example.com", "--left-on",
                                              "2026-11-04"]).exit_code == 0
    client = _hr(app)
    refused = post_form(client, f"/people/{bob}/edit", {"name": "Bob", "team": "Support", "lead": "y"})
    assert refused.status_code == 400 and "bring them back first" in refused.get_data(as_text=True)
    answer = post_form(client, f"/people/{bob}/edit", {"name": "Robert", "team": "Support"})
    assert answer.status_code == 303
    with transaction() as session:
        robert = session.get(Employee, bob)
        assert (robert.name, robert.active, str(robert.left_on)) == ("Robert", False, "2026-11-04")
        mia = session.scalar(select(Employee.id).where(Employee.email == "mia@example.com"))
        assert session.scalar(select(Team.manager_id).where(Team.name == "Support")) == mia


def test_hr_gives_someone_a_new_address_and_their_sign_in_follows(app, worked_example):
    ann = worked_example.ids["ann"]
    client = _hr(app)
    taken = post_form(client, f"/people/{ann}/email", {"address": "bob@example.com"}, page=f"/people/{ann}/edit")
    assert taken.status_code == 400 and "bob@example.com is Bob's address" in html.unescape(
        taken.get_data(as_text=True))
    answer = post_form(client, f"/people/{ann}/email", {"address": "ann.lee@example.com"}, page=f"/people/{ann}/edit")
    assert answer.status_code == 303
    page = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert ("Ann's e-mail is now ann.lee@example.com, and their account signs in with it; ann@example.com stays "
            "theirs as an identity.") in page
    with transaction() as session:
        assert session.scalar(select(User.employee_id).where(User.email == "ann.lee@example.com")) == ann
        assert session.scalar(select(AuditEntry.actor_id).where(
            AuditEntry.action == "employee.email_changed")) == worked_example.hr


def test_someone_without_an_address_is_edited_by_their_id(app, worked_example):
    with transaction() as session:
        nobody = Employee(name="Pat", team_id=session.get(Employee, worked_example.ids["ann"]).team_id)
        session.add(nobody)
        session.flush()
        pat = nobody.id
    client = _hr(app)
    answer = post_form(client, f"/people/{pat}/edit", {"name": "Pat Doe", "team": "Billing"})
    assert answer.status_code == 303
    with transaction() as session:
        assert session.get(Employee, pat).team.name == "Billing" and session.get(Employee, pat).email is None


def test_no_joining_day_and_an_identity_named_twice_are_taken(app, worked_example):
    client = _hr(app)
    answer = post_form(client, "/people/new", {"name": "Eve", "email": "eve@example.com", "team": "Support",
                                           "identities": "zendesk:77; zendesk:77; email:Eve.B@example.com; "
                                                         "email:eve.b@EXAMPLE.com", "started_on": ""})
    assert answer.status_code == 303
    with transaction() as session:
        eve = session.scalar(select(Employee).where(Employee.email == "eve@example.com"))
        assert eve.started_on is None
        assert sorted((i.provider, i.external_id) for i in eve.identities) == [
            ("email", "eve.b@example.com"), ("zendesk", "77")]


def test_a_lead_moved_to_another_team_is_told_they_still_lead_the_old_one(app, worked_example):
    with transaction() as session:
        mia = session.scalar(select(Employee.id).where(Employee.email == "mia@example.com"))
    client = _hr(app)
    assert 'checked id="lead"' not in client.get(f"/people/{mia}/edit").get_data(
        as_text=True)  # not their team's lead: Mia leads Support and is in no team
    answer = post_form(client, f"/people/{mia}/edit", {"name": "Mia Manager", "team": "Billing"})
    page = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert "Mia Manager: team none -> Billing. They still lead Support: make one of its members its lead" in page


def test_a_new_lead_is_said_to_take_the_place_of_the_old_one(app, worked_example):
    client = _hr(app)
    answer = post_form(client, "/people/new",
                       {"name": "Zoe", "email": "zoe@example.com", "team": "Support", "lead": "y"})
    page = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert "Zoe is added to Support and leads it in place of Mia Manager." in page


def test_an_address_that_is_someones_identity_is_not_given_to_a_new_person(app, worked_example):
    client = _hr(app)
    ann = worked_example.ids["ann"]
    assert post_form(client, f"/people/{ann}/email", {"address": "ann.lee@example.com"},
                     page=f"/people/{ann}/edit").status_code == 303  # ann@example.com stays hers as an identity
    answer = post_form(client, "/people/new", {"name": "Another Ann", "email": "ann@example.com", "team": "Support"})
    assert answer.status_code == 400
    assert "ann@example.com is an identity of ann.lee@example.com: give this person another address" in \
        html.unescape(answer.get_data(as_text=True))


def test_a_leaver_who_still_leads_their_team_is_renamed_without_unticking_anything(app, worked_example):
    dan = worked_example.ids["dan"]
    client = _hr(app)
    assert post_form(client, f"/people/{dan}/edit", {"name": "Dan", "team": "Billing", "lead": "y"}).status_code == 303
    assert app.test_cli_runner().invoke(args=["org", "deactivate", "dan@example.com"]).exit_code == 0
    assert 'checked id="lead"' in client.get(f"/people/{dan}/edit").get_data(as_text=True)
    answer = post_form(client, f"/people/{dan}/edit", {"name": "Daniel", "team": "Billing", "lead": "y"})
    assert answer.status_code == 303
    moved = post_form(client, f"/people/{dan}/edit", {"name": "Daniel", "team": "Support", "lead": "y"})
    assert moved.status_code == 400 and "bring them back first" in moved.get_data(as_text=True)
