"""The home page counts feedback within what each role may see."""
from __future__ import annotations

import re

from core.ingestion import ingest
from tests.fixtures.org import csrf_token
from tests.fixtures.payloads import survey


def _org(session, create_team, create_employee, create_user):
    emea, billing = create_team("Support EMEA"), create_team("Billing")
    tier2 = create_team("EMEA Tier 2", parent=emea)
    lead = create_employee("Lea Lead", team=emea)
    emea.manager = lead
    ann = create_employee("Ann", team=emea, identities=[("helpdesk", "101")])
    create_employee("Tom", team=tier2, identities=[("helpdesk", "303")])
    create_employee("Bob", team=billing, identities=[("helpdesk", "202")])
    session.commit()
    ingest(session, "post_ticket_survey", [survey("r-1"), survey("r-2", agent=("helpdesk", "202")),
                                           survey("r-3", agent=("helpdesk", "202")), survey("r-4", agent=None),
                                           survey("r-5", agent=("helpdesk", "303"))])
    session.commit()
    create_user("hr@example.com", roles=["hr"])
    create_user("lead@example.com", roles=["manager"], employee=lead)
    create_user("ann@example.com", roles=["employee"], employee=ann)
    create_user("shopper@example.com", roles=["shopper"])


def _count(html: str) -> int:
    return sum(int(n) for n in re.findall(r'<td class="num">(\d+)</td>', html))


def test_each_role_counts_only_what_it_may_see(client, login, session, create_team, create_employee,
                                               create_user):
    _org(session, create_team, create_employee, create_user)
    # the lead sees their team and the team below it
    expected = {"hr@example.com": 5, "lead@example.com": 2}
    for email, count in expected.items():
        login(email)
        html = client.get("/").get_data(as_text=True)
        assert _count(html) == count, email
        # the queue's size, for those who decide it
        assert ("Unattributed items waiting" in html) == (email in ("hr@example.com", "lead@example.com"))
        client.post("/logout", data={"csrf_token": csrf_token(html)})
    # an employee comes for their report, which lists their own items; a shopper reads no feedback: home is
    # their assignments
    login("ann@example.com")
    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/report")
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/report").get_data(as_text=True))})
    login("shopper@example.com")
    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/channels/mystery_shopper/assignments")
    assert client.get("/", follow_redirects=True).status_code == 200


def test_home_page_issues_the_same_queries_however_much_feedback(client, login, session, create_user, app):
    from sqlalchemy import event

    create_user("hr@example.com", roles=["hr"])
    login("hr@example.com")

    def queries_for_home() -> int:
        statements = []
        engine = app.extensions["plaudit.db"].engine
        listener = lambda *args: statements.append(args[2])
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    few = queries_for_home()
    ingest(session, "post_ticket_survey", [survey(f"r-{n}", kind=kind, rating=n % 5 + 1)
                                           for n, kind in enumerate(["csat", "ces"] * 150)])
    session.commit()
    assert queries_for_home() == few


def test_a_manager_and_hr_see_what_waits_for_them(client, login, worked_example):
    """They landed on counts of feedback, and had to open each page to learn whether anything was theirs."""
    from sqlalchemy import func, select

    from appraisal.models import Recommendation
    from core.db import transaction
    from core.models import Employee

    run = worked_example.run()
    with transaction() as session:
        support = session.scalar(select(Employee.team_id).where(Employee.id == worked_example.ids["ann"]))
        waiting = (select(func.count()).select_from(Recommendation)
                   .join(Employee, Employee.id == Recommendation.employee_id)
                   .where(Recommendation.run_id == run, Recommendation.status == "proposed"))
        proposed = {True: session.scalar(waiting.where(Employee.team_id == support)),
                    None: session.scalar(waiting)}
    assert proposed[True] > 0
    login("mia@example.com")
    html = client.get("/").get_data(as_text=True)
    assert (f'<li data-waiting="review.recommendations">Recommendations to approve: <strong>{proposed[True]}'
            f'</strong>') in html
    assert '<li data-waiting="review.disputes">Disputes to decide: <strong>0</strong></li>' in html
    assert "review.flags" not in html  # HR's
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login("hr@example.com")
    html = client.get("/").get_data(as_text=True)
    assert f"Recommendations to approve: <strong>{proposed[None]}</strong>" in html
    assert '<li data-waiting="review.flags">Integrity flags to decide:' in html


def test_a_manager_reads_how_many_waiting_items_are_proposed_for_their_people(
        client, login, session, create_team, create_employee, create_user):
    """The demo's manager read "98 waiting for you", most of them brand complaints HR keeps for the
    organisation; how many are proposed for their people is what they act on."""
    from sqlalchemy import select

    from core.models import Employee, Feedback

    _org(session, create_team, create_employee, create_user)
    ingest(session, "post_ticket_survey", [survey("r-6", agent=None), survey("r-7", agent=None)])
    ann = session.scalar(select(Employee.id).where(Employee.name == "Ann"))
    session.scalar(select(Feedback).where(Feedback.external_id == "r-6")).proposed_employee_id = ann
    session.commit()
    login("lead@example.com")
    html = " ".join(client.get("/").get_data(as_text=True).split())
    assert ("Unattributed items waiting to be matched to an employee: <strong>3</strong>, <strong>1</strong> of them "
            "proposed for your people") in html
    assert 'href="/unattributed?show=proposed"' in html
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login("hr@example.com")
    html = " ".join(client.get("/").get_data(as_text=True).split())
    assert "<strong>3</strong> <a" in html and "proposed for your people" not in html
