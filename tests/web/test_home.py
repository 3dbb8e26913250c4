"""The home page counts feedback within what each role may see."""
from __future__ import annotations

from core.ingestion import ingest
from tests.fixtures.payloads import survey


def _org(session, create_team, create_employee, create_user):
    emea, billing = create_team("Support EMEA"), create_team("Billing")
    lead = create_employee("Lea Lead", team=emea)
    emea.manager = lead
    ann = create_employee("Ann", team=emea, identities=[("helpdesk", "101")])
    create_employee("Bob", team=billing, identities=[("helpdesk", "202")])
    session.commit()
    ingest(session, "post_ticket_survey", [survey("r-1"), survey("r-2", agent=("helpdesk", "202")),
                                           survey("r-3", agent=("helpdesk", "202")), survey("r-4", agent=None)])
    session.commit()
    create_user("hr@example.com", roles=["hr"])
    create_user("lead@example.com", roles=["manager"], employee=lead)
    create_user("ann@example.com", roles=["employee"], employee=ann)
    create_user("shopper@example.com", roles=["shopper"])


def _count(html: str) -> int:
    import re

    return sum(int(n) for n in re.findall(r'<td class="num">(\d+)</td>', html))


def test_each_role_counts_only_what_it_may_see(client, login, session, create_team, create_employee,
                                               create_user):
    _org(session, create_team, create_employee, create_user)
    expected = {"hr@example.com": 4, "lead@example.com": 1, "ann@example.com": 1, "shopper@example.com": 0}
    for email, count in expected.items():
        login(email)
        html = client.get("/").get_data(as_text=True)
        assert _count(html) == count, email
        assert ("Unattributed items waiting" in html) == (email in ("hr@example.com", "lead@example.com"))
        client.post("/logout", data={"csrf_token": __import__("tests.fixtures.org", fromlist=["x"]).csrf_token(html)})
