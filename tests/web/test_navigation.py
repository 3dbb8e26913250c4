"""The menu offers each user the pages their roles open, and their own report whenever they are appraised."""
from __future__ import annotations

import re

from tests.fixtures.org import sign_in

EXPECTED = {
    "hr@example.com": ["Team", "Team report", "Targets", "Unattributed", "Disputes", "Approvals", "Mystery reports",
                       "Mystery templates", "Integrity queue",
                       "Organisation", "People", "Runs", "Guidelines", "Social sources", "Privacy"],
    # Mia manages and is appraised herself: her own report comes first
    "mia@example.com": ["My report", "Team", "Team report", "Targets", "Unattributed", "Disputes", "Approvals",
                        "Mystery reports"],
    "ann@example.com": ["My report"],
    "admin@example.com": ["Social sources", "Privacy", "Integrations", "Plugins", "Jobs", "Accounts", "API tokens"],
}


def test_each_user_is_offered_the_pages_they_may_open(app, worked_example, session_per_request):
    for email, expected in EXPECTED.items():
        client = app.test_client()
        assert sign_in(client, email).status_code == 302
        html = client.get("/", follow_redirects=True).get_data(as_text=True)  # an employee's home is their report
        menu = re.search(r'<nav class="menu".*?</nav>', html, re.DOTALL).group(0)
        links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', menu)
        assert [label for _, label in links] == expected, email
        for url, label in links:  # every entry opens for the user it is offered to
            assert client.get(url).status_code == 200, (email, label)


def test_a_page_under_an_entry_marks_it_as_where_one_is(app, worked_example, session_per_request):
    client = app.test_client()
    assert sign_in(client, "hr@example.com").status_code == 302
    for url in ("/people", "/people/new", "/people/import", f"/people/{worked_example.ids['ann']}/edit"):
        menu = re.search(r'<nav class="menu".*?</nav>', client.get(url).get_data(as_text=True), re.DOTALL).group(0)
        assert re.findall(r'aria-current="(?:page|true)">([^<]+)</a>', menu) == ["People"], url
