"""HR reads the runs on a phone: each run a card, its state and the button to run it again in view."""
from __future__ import annotations

from core.db import transaction
from core.models import Feedback
from tests.fixtures.appraisal import utc
from tests.fixtures.browser import assert_in_view, on_a_phone
from tests.fixtures.org import PASSWORD


def test_on_a_phone_a_run_out_of_date_shows_why_and_its_button_without_scrolling(browser_page, worked_example):
    """Nine columns scrolled sideways: the State column, with the out-of-date mark and its button, was off screen."""
    run_id = worked_example.run()
    with transaction() as session:  # an answer of the week stored after its run
        session.add(Feedback(channel="test", kind="csat", external_id="late", value=1.0, scale_min=1.0,
                             scale_max=5.0, employee_id=worked_example.ids["bob"], occurred_at=utc(2026, 11, 5, 9)))
    page = browser_page
    on_a_phone(page, "hr@example.com", PASSWORD, "/runs")
    row = page.locator(f"tr#run-{run_id}")
    state = row.locator("td[data-label=State]")
    assert "out of date: 1 item arrived since" in state.inner_text()
    assert_in_view(state, "State")
    assert_in_view(state.get_by_role("button"), "its button")
    assert row.get_by_role("rowheader").inner_text().strip() == f"Run {run_id}"  # a card says what it is
    table = page.get_by_role("table", name="Runs (1)")
    assert table.get_by_role("columnheader").count() == 9 and table.get_by_role("rowheader").count() == 1
    page.shot("runs-on-a-phone")

    page.set_viewport_size({"width": 1280, "height": 800})  # a wide screen keeps the table, its header says "Run"
    assert row.get_by_role("rowheader").inner_text().strip() == str(run_id)
