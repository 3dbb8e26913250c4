"""Ann disputes an answer; Mia, her manager, upholds it and credits the item to Bob, picked from the list.

The list offered Ann herself, the one person the item cannot go to, and colleagues who had left before the
item; picking them was refused on submit.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from appraisal.review import raise_dispute
from core.db import transaction
from core.models import Employee, Feedback, User
from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD


def test_mia_credits_a_disputed_answer_to_a_colleague_of_ann(browser_page, worked_example):
    ids = worked_example.ids
    with transaction() as session:
        item = session.scalar(select(Feedback).where(Feedback.employee_id == ids["ann"]).order_by(Feedback.id))
        ann = session.scalar(select(User).where(User.employee_id == ids["ann"]))
        dispute = raise_dispute(session, item.id, ann, "Bob took this call").id
        item_id = item.id
        cat = session.get(Employee, ids["cat"])  # left the day before the item: not to be credited with it
        cat.active, cat.left_on = False, date(2026, 11, 1)
        session.add(Employee(name="Nia New", email="nia@example.com", team=cat.team,
                             started_on=date(2026, 12, 1)))  # joins after the item: nor with it
    page = browser_page
    sign_in_browser(page, "mia@example.com", PASSWORD)
    page.goto("/review/disputes")
    field = page.locator(f"#reassign-{dispute}")
    field.focus()
    offered = page.eval_on_selector(f"#reassign-{dispute}",
                                    "field => [...field.list.options].map(option => option.value)")
    assert "Bob (Support)" in offered
    assert not [value for value in offered if value.startswith(("Ann", "Cat", "Nia"))]  # the disputer, a leaver, a hire
    page.shot("credit-it-to")

    page.check(f"#dispute-{dispute} input[value=uphold]")
    field.fill("Bob (Support)")  # what picking him fills in: his name and team, as the manager reads it
    page.fill(f"#outcome-{dispute}", "The recording shows Bob took this call.")
    page.click(f"#dispute-{dispute} button[type=submit]")
    assert f"Dispute {dispute} upheld: the item now counts for Bob in the next run" in page.locator(".flash").inner_text()
    with transaction() as session:
        assert session.get(Feedback, item_id).employee_id == ids["bob"]
