"""Signing in through a real browser: the menu offers each role its own pages."""
from __future__ import annotations

from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD


def test_hr_signs_in_and_sees_the_menu_of_their_role(browser_page, worked_example):
    page = browser_page
    sign_in_browser(page, "hr@example.com", PASSWORD)
    assert page.locator("h1").first.inner_text() == "Feedback received"
    menu = page.locator("nav.menu a").all_inner_texts()
    assert "My report" not in menu  # HR has no report of their own
    page.shot("home")
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login?out=1")
