"""Hana, in HR, finds Bob among the people and records that he left, from the browser's date picker."""
from __future__ import annotations

from datetime import date

from core.db import transaction
from core.models import Employee
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD


def test_hana_records_that_bob_left_on_the_fourth(browser_page, worked_example):
    page = browser_page
    sign_in_browser(page, "hr@example.com", PASSWORD)
    page.click("nav.menu a:has-text('People')")
    page.wait_for_url("**/people")
    page.fill("input[name=q]", "bob")
    page.click("form.filters button")
    page.click("table.people a:has-text('Bob')")
    page.wait_for_url(f"**/people/{worked_example.ids['bob']}")
    page.shot("bob")

    page.fill("input[name=left_on]", "2999-01-01")  # a slip of the year: refused at the field
    page.click("button:has-text('Record that they left')")
    assert "is still to come" in page.locator("#left_on-error").inner_text()
    page.shot("refused")

    page.fill("input[name=left_on]", "2026-11-04")
    page.click("button:has-text('Record that they left')")
    assert "Bob left on 2026-11-04" in page.locator(".flash").inner_text()
    assert page.locator("[data-field=left_on]").inner_text() == "2026-11-04"
    page.shot("recorded")
    with transaction() as session:
        bob = session.get(Employee, worked_example.ids["bob"])
        assert (bob.active, bob.left_on) == (False, date(2026, 11, 4))
