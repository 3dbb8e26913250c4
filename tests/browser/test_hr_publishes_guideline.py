"""HR changes a weight in the guideline editor, watches the live total, previews, publishes, reads the diff."""
from __future__ import annotations

from sqlalchemy import select

from appraisal.models import Guideline
from core.db import transaction
from tests.fixtures.browser import assert_in_view, on_a_phone, sign_in_browser
from tests.fixtures.org import PASSWORD


def test_hr_changes_a_weight_and_publishes_version_2(browser_page, worked_example):
    worked_example.run()  # a completed run, so the preview has a period to show
    page = browser_page
    sign_in_browser(page, "hr@example.com", PASSWORD)
    page.click("nav.menu a:has-text('Guidelines')")
    page.wait_for_url("**/guidelines")
    assert "is in force" in page.locator("main").inner_text()
    page.shot("1-guidelines")

    page.click("text=Edit the guideline")
    page.wait_for_url("**/guidelines/edit")
    total, publish = page.locator("#weight-total"), page.locator("#publish-button")
    assert total.inner_text() == "Weights sum to 100" and publish.is_enabled()
    assert page.locator("#unused-rules").is_hidden()  # the script offers other rules through "Add a rule"
    page.shot("2-editor")

    page.fill("#weight-csat_percent", "50")
    assert total.inner_text() == "Weights sum to 90 - must be 100"
    assert publish.is_disabled()
    page.shot("3-total-wrong")

    page.fill("#weight-nps", "50")
    assert total.inner_text() == "Weights sum to 100"
    assert publish.is_enabled()
    page.shot("4-total-right")

    page.click("#preview-button")
    preview = page.locator("#preview-result section#preview")
    preview.wait_for()
    assert page.url.endswith("/guidelines/edit")  # fetched into the editor, not a new page
    bob = page.locator("#preview-result tr", has_text="Bob")
    assert bob.locator("td.rank-before").inner_text() == "2 of 3"
    assert bob.locator("td.rank-after").inner_text() == "1 of 3"
    page.shot("5-preview")

    page.fill("#note", "CSAT and NPS weigh the same")
    publish.click()
    page.wait_for_url("**/guidelines/2")
    assert "Published guideline version 2." in page.locator("p.flash").inner_text()
    assert "in force" in page.locator("h1").inner_text()
    page.shot("6-version-2")

    page.click("text=Changes from version 1")
    page.wait_for_url("**/guidelines/diff?from=1&to=2")
    row = page.locator("table.diff tr", has_text="metrics[csat_percent].weight")
    assert row.locator("td.before").inner_text() == "60" and row.locator("td.after").inner_text() == "50"
    page.shot("7-diff")

    with transaction() as session:
        document, note = session.execute(select(Guideline.document, Guideline.note)
                                         .where(Guideline.version == 2)).one()
    assert {m["rule"]: m["weight"] for m in document["metrics"]} == {"csat_percent": 50, "nps": 50}
    assert note == "CSAT and NPS weigh the same"


def test_hr_swaps_a_rule_and_sees_a_refused_preview_in_place(browser_page, worked_example):
    worked_example.run()
    page = browser_page
    sign_in_browser(page, "hr@example.com", PASSWORD)
    page.goto("/guidelines/edit")
    total, publish = page.locator("#weight-total"), page.locator("#publish-button")
    page.locator("#used-rules tr[data-rule=nps] button.remove-rule").click()
    assert total.inner_text() == "Weights sum to 60 - must be 100" and publish.is_disabled()
    page.select_option("#add-rule", "csat_mean")
    page.click("#add-rule-button")
    page.fill("#weight-csat_mean", "40")
    assert total.inner_text() == "Weights sum to 100" and publish.is_enabled()
    # The server still checks what the script cannot: its refusal shows in place of the preview.
    page.fill("#budget_cap", "-5")
    page.click("#preview-button")
    page.locator("#preview-result #errors").wait_for()
    assert "incentives.budget.cap: give an amount from 0 to 1,000,000,000" in page.locator("#preview-result").inner_text()
    # ... and at the field itself, as a refused publish shows it (the list alone was at the foot of the page)
    cap = page.locator("#budget_cap")
    assert cap.get_attribute("aria-invalid") == "true"
    described = cap.get_attribute("aria-describedby")
    assert "give an amount from 0" in page.locator(f"#{described}").inner_text()
    page.shot("refused-preview")
    page.fill("#budget_cap", "130")
    page.click("#preview-button")
    page.locator("#preview-result #preview").wait_for()
    assert cap.get_attribute("aria-invalid") is None  # a preview that goes through clears the marks
    publish.click()
    page.wait_for_url("**/guidelines/2")
    with transaction() as session:
        document = session.scalar(select(Guideline.document).where(Guideline.version == 2))
    assert [(m["rule"], m["weight"]) for m in document["metrics"]] == [("csat_percent", 60), ("csat_mean", 40)]


def test_a_refused_publish_is_cleared_by_a_preview_that_goes_through(browser_page, worked_example):
    """The refused publish's summary and field messages stayed up over a draft that now previewed."""
    worked_example.run()
    page = browser_page
    sign_in_browser(page, "hr@example.com", PASSWORD)
    page.goto("/guidelines/edit")
    page.fill("#budget_cap", "-5")
    page.fill("#settings-nps", '{"target_bounds": {"min": -20, "max": 100}')  # a brace short
    page.click("#publish-button")
    summary = page.locator("#errors")
    summary.wait_for()
    assert "nps: its settings are not valid JSON" in summary.inner_text()  # which rule's, named
    assert page.locator("#budget_cap").get_attribute("aria-invalid") == "true"
    page.fill("#budget_cap", "130")
    page.fill("#settings-nps", "{}")
    page.click("#preview-button")
    page.locator("#preview-result #preview").wait_for()
    assert page.locator("#errors").count() == 0 and page.locator("main .error").count() == 0
    assert page.locator("[aria-invalid]").count() == 0


def test_on_a_phone_each_rule_of_the_editor_is_a_card_with_its_settings_and_remove_in_view(browser_page,
                                                                                          worked_example):
    """The settings, the Remove buttons and the total were cut off at the right of the weights table."""
    page = browser_page
    on_a_phone(page, "hr@example.com", PASSWORD, "/guidelines/edit")
    rows = page.locator("#used-rules tr[data-rule]")
    assert rows.count() == 2  # CSAT % and NPS
    assert page.locator("#unused-rules").is_hidden()  # offered through "Add a rule", as on a wide screen
    for index in range(rows.count()):
        row = rows.nth(index)
        for part in (row.locator("input.weight"), row.locator("input.settings"), row.locator("button.remove-rule")):
            assert_in_view(part, index)
    assert_in_view(page.locator("#weight-total"), "the total")
    page.shot("editor-on-a-phone")
