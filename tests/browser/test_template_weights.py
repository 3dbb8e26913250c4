"""HR edits a mystery report template's section weights and reads their total as they type."""
from __future__ import annotations

from channels.mystery_shopper.models import Assignment
from core.db import transaction
from tests.channels.mystery_shopper.visits import send_shoppers
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD


def test_the_weights_total_follows_what_is_typed(browser_page, worked_example):
    """Set to 0.5, one weight left the total showing 'Weights sum to 1' in green: the page as loaded."""
    visits = send_shoppers(worked_example)
    with transaction() as session:
        template_id = session.get(Assignment, visits.assignments["sam"]).template_id
    page = browser_page
    sign_in_browser(page, "hr@example.com", PASSWORD)
    page.goto(f"/channels/mystery_shopper/templates/{template_id}/edit")
    total = page.locator("#weight-total")
    assert total.inner_text() == "Weights sum to 1"
    first = page.locator("input.weight").first
    loaded = first.input_value()
    first.fill(str(round(float(loaded) + 0.25, 6)))
    assert total.inner_text() == "Weights sum to 1.25 - must be 1" and total.get_attribute("class") == "bad"
    first.fill("a lot")
    assert total.inner_text() == "A weight is not a number"
    first.fill(loaded)
    assert total.inner_text() == "Weights sum to 1" and total.get_attribute("class") == "good"
