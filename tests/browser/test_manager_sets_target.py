"""A manager sets a CSAT target for one of their people and, once the week is appraised, sees its attainment."""
from __future__ import annotations

from tests.fixtures.appraisal import WEEK
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD


def test_mia_sets_a_csat_target_for_ann_and_sees_it_met(browser_page, worked_example):
    page = browser_page
    sign_in_browser(page, "mia@example.com", PASSWORD)
    page.click("nav.menu a:has-text('Targets')")
    page.wait_for_url("**/targets")
    page.shot("targets-before")

    # A value outside CSAT's 0-100 is refused at the field, and nothing is saved.
    page.select_option("select[name=subject]", label="Ann (Support)")
    page.select_option("select[name=metric]", label="CSAT %")
    page.select_option("select[name=period_kind]", "month")
    page.fill("input[name=day]", "2026-11-02")
    page.fill("input[name=value]", "120")
    page.click("button:has-text('Set target')")
    assert page.locator("#value-error").inner_text() == "CSAT % runs from 0 to 100"
    page.shot("target-refused")

    # HR's 80 for Ann this month becomes Mia's 72.
    page.fill("input[name=value]", "72")
    page.click("button:has-text('Set target')")
    page.wait_for_url("**/targets")
    assert ("Target changed: CSAT % from 80 to 72 for Ann, month 2026-11-01 to 2026-11-30."
            in page.locator(".flash").inner_text())
    # and a keyboard or screen-reader user starts there, not at the top of the page (a status region already
    # on the page when it loads is not announced)
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('.flash')",
                           timeout=3000)
    ann = page.locator("table.targets tr", has_text="Ann")
    assert "72.0%" in ann.inner_text() and "not appraised yet" in ann.inner_text()

    worked_example.run(period=WEEK.previous())  # HR appraises the week before, for a trend,
    worked_example.run()  # and the week of 2 November

    page.reload()
    ann = page.locator("table.targets tr", has_text="Ann")
    assert "met" in ann.locator(".attainment").inner_text() and "at 75.0%" in ann.inner_text()
    page.shot("targets-attained")

    page.click("nav.menu a:has-text('Team')")
    page.wait_for_url("**/team")
    row = page.locator("table.team-results tbody tr", has_text="Ann")
    # the attainment sits under the target (innerText breaks the line there)
    assert "target 72.0%: met" in " ".join(" ".join(row.locator(".target").all_inner_texts()).split())
    assert "Dan" not in page.locator("table.team-results").inner_text()
    page.shot("team-dashboard")
