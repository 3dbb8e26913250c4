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


def test_on_a_phone_each_item_is_a_card_with_its_answer_and_dispute_in_view(browser_page, worked_example):
    """Seven columns scrolled sideways inside their box: the answer and the Dispute button were off the screen."""
    worked_example.run()
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_browser(page, "ann@example.com", PASSWORD)
    page.goto("/report#items")
    rows = page.locator("table.items tbody tr")
    assert rows.count() == 8  # Ann's four CSAT and four NPS answers of the week
    for index in range(rows.count()):
        row = rows.nth(index)
        for part in (row.locator("td[data-label=Answer]"), row.locator("summary:has-text('Dispute')")):
            box = part.bounding_box()  # where it is on the page: nothing scrolled sideways to reach it
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (index, box)
    assert page.locator("table.items thead").bounding_box()["height"] <= 1  # the labels name each line instead
    # Still a table to a screen reader, its cells under their column headers.
    assert page.get_by_role("table", name="Your items this period").get_by_role("columnheader").count() == 7
    assert page.get_by_role("row").filter(has_text="5 of 5").first.get_by_role("cell").count() == 7
    page.shot("own-items-on-a-phone")
