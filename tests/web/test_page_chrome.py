"""What every page has: a title that tells it apart, and forms that post back to the page's own address."""
from __future__ import annotations

import re


def test_page_titles_tell_people_and_errors_apart(worked_example, as_user):
    """Every colleague's report was titled 'Report', and an error page '404'."""
    worked_example.run()
    client = as_user("hr@example.com")
    title = re.compile(r"<title>(.*?)</title>")
    assert title.search(client.get(f"/report/{worked_example.ids['bob']}").get_data(as_text=True)).group(1) \
        == "Bob&#39;s report · Plaudit"
    assert title.search(client.get("/report/999999").get_data(as_text=True)).group(1) in (
        "Not found (404) · Plaudit", "Not allowed (403) · Plaudit")


def test_a_form_posts_back_to_its_own_address_however_it_is_spelt(app):
    """here() is the page's address: the path as sent (a %23 stays one) under the app's mount point, and its
    query, never a #fragment."""
    with app.test_request_context("/report/a%23b", query_string="run=3&x=%26y", base_url="http://h/plaudit"):
        assert app.jinja_env.globals["here"]() == "/plaudit/report/a%23b?run=3&x=%26y"
    with app.test_request_context("/login"):
        assert app.jinja_env.globals["here"]() == "/login"
