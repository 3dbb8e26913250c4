"""An employee reads their own report in a real browser, and is refused a colleague's (403)."""
from __future__ import annotations

from tests.fixtures.appraisal import BEFORE
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD


def test_ann_reads_her_report_and_is_refused_bobs(browser_page, worked_example):
    worked_example.run(period=BEFORE)  # so the trend has two weeks to draw
    worked_example.run()
    page = browser_page
    sign_in_browser(page, "ann@example.com", PASSWORD)
    page.click("nav.menu a:has-text('My report')")
    page.wait_for_url("**/report")
    assert page.locator("h1").first.inner_text() == "Your report"
    assert page.locator("[data-figure=composite]").inner_text() == "70.8"
    assert page.locator("[data-figure=rank]").inner_text() == "1 of 3"
    assert page.locator("tr[data-metric=csat_percent] [data-field=value]").inner_text() == "75.0%"
    assert page.locator("tr[data-target=csat_percent]").inner_text().endswith("below target")
    assert page.locator("svg.chart").count() == 3  # the composite, CSAT % and NPS against the means
    page.shot("own-report")

    response = page.goto(f"/report/{worked_example.ids['bob']}")
    assert response.status == 403
    assert page.locator("h1").first.inner_text() == "Not allowed"
    assert "Bob" not in page.content()
    page.shot("colleagues-report-refused")
