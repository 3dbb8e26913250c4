"""A manager reads the team report on a phone: each person a card, what to act on in view."""
from __future__ import annotations

from tests.fixtures.browser import assert_in_view, on_a_phone
from tests.fixtures.org import PASSWORD


def test_on_a_phone_each_person_is_a_card_with_their_recommendations_in_view(browser_page, worked_example):
    """A dozen columns scrolled sideways inside their box: the recommendations a manager acts on were off screen."""
    worked_example.run()
    page = browser_page
    on_a_phone(page, "mia@example.com", PASSWORD, "/report/team")
    rows = page.locator("table.team-report tbody tr")
    assert rows.count() == 3  # Ann, Bob and Cat of Support
    for index in range(rows.count()):
        assert_in_view(rows.nth(index).locator("td[data-label=Recommendations]"), index)
    # Still a table to a screen reader: a header per column, each person's row named by its header cell.
    table = page.get_by_role("table", name="Team report")
    assert table.get_by_role("columnheader").count() == 8  # no Team column: one team
    assert table.get_by_role("rowheader").count() == 3
    page.shot("team-report-on-a-phone")


def test_on_a_phone_the_team_dashboard_is_a_card_per_person_with_every_metric_in_view(browser_page,
                                                                                     worked_example):
    """Only Employee, Composite, Rank and Percentile fitted; the metrics, targets and change scrolled off."""
    worked_example.run()
    page = browser_page
    on_a_phone(page, "mia@example.com", PASSWORD, "/team")
    cells = page.locator("table.team-results tbody td[data-label]")
    assert cells.count() > 0
    for index in range(cells.count()):
        assert_in_view(cells.nth(index), cells.nth(index).get_attribute("data-label"))
    labels = set(cells.evaluate_all("cells => cells.map(cell => cell.dataset.label)"))
    assert {"Composite", "Rank", "Targets", "Change", "CSAT %", "NPS"} <= labels
    table = page.get_by_role("table", name="Results of Support")
    assert table.get_by_role("rowheader").count() == 5  # Ann, Bob and Cat, the team mean and the organisation's
    page.shot("team-dashboard-on-a-phone")


def test_on_a_phone_each_recommendation_to_approve_is_a_card_with_its_buttons_in_view(browser_page, worked_example):
    """The Why column and the Approve and Reject buttons were off to the right of a table scrolled sideways."""
    worked_example.run()
    page = browser_page
    on_a_phone(page, "mia@example.com", PASSWORD, "/review/recommendations")
    rows = page.locator("table.approvals tbody tr")
    assert rows.count() == 2  # Ann's and Bob's bonuses
    for index in range(rows.count()):
        for part in (rows.nth(index).locator("td[data-label=Why]"), rows.nth(index).get_by_role("button").first,
                     rows.nth(index).get_by_role("button").last):
            assert_in_view(part, index)
    page.shot("approvals-on-a-phone")
