"""A small branch-visit template and two shoppers sent into the worked example, for the workflow tests.

Built here rather than read from ../shared, so the tests run anywhere. Sam is sent to Ann (Support, led by
Mia), Olga to Dan (Billing); both visit windows lie in the worked example's week.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from channels.mystery_shopper.assignments import create_assignment
from channels.mystery_shopper.template import publish_template
from core.db import transaction
from core.models import User
from tests.fixtures.appraisal import _PASSWORD_HASH

YES_NO = [{"key": "1", "label": "Yes", "label_ar": "نعم", "points": 1}, {"key": "0", "label": "No", "points": 0}]
#: Service (60%): greeted (1 of 1), courtesy on 1-5 (value - 1 of 4), minutes waited (recorded, not scored).
#: Product (40%): knowledge (2, 1 or 0 of 2, or N/A), what was missing (shown only after "poor"), an offer.
TEMPLATE = {
    "sections": [{"key": "service", "title": "Service", "title_ar": "الخدمة", "weight": 0.6},
                 {"key": "product", "title": "Product knowledge", "weight": 0.4}],
    "questions": [
        {"key": "Q1", "section": "service", "text": "Were you greeted within a minute?",
         "text_ar": "هل تم الترحيب بك خلال دقيقة؟", "type": "yes_no", "choices": YES_NO},
        {"key": "Q2", "section": "service", "text": "How courteous was the employee?", "type": "scale",
         "scale": {"min": 1, "max": 5}},
        {"key": "Q3", "section": "service", "text": "How many minutes did you wait?", "type": "number"},
        {"key": "Q4", "section": "product", "text": "How well did they know the product?", "type": "single_choice",
         "choices": [{"key": "good", "label": "Well", "points": 2}, {"key": "fair", "label": "Fairly", "points": 1},
                     {"key": "poor", "label": "Poorly", "points": 0},
                     {"key": "na", "label": "Did not come up", "not_applicable": True}]},
        {"key": "Q5", "section": "product", "text": "What did they not know?", "type": "text",
         "show_if": {"question": "Q4", "answers": ["poor"]}},
        {"key": "Q6", "section": "product", "text": "Did they offer anything more?", "type": "yes_no",
         "choices": YES_NO},
    ],
}
#: Answers worth 0.6 x (1 + 3) / 5 + 0.4 x (1 + 1) / 3 = 0.7467.
GOOD_ANSWERS = {"Q1": "1", "Q2": 4, "Q3": 3, "Q4": "fair", "Q6": "1"}
GOOD_SCORE = 0.6 * 4 / 5 + 0.4 * 2 / 3
VISIT_FROM, VISIT_UNTIL = datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 11, 6, 18, tzinfo=UTC)
DUE = datetime(2026, 11, 9, 12, tzinfo=UTC)
VISITED = datetime(2026, 11, 4, 14, 30, tzinfo=UTC)
INTEGRITY = {"identity_revealed": False, "knows_employee": False, "followed_scenario": True}


@dataclass
class Visits:
    template_id: int
    shoppers: dict[str, int]
    #: assignment ids by shopper name: sam -> Ann, olga -> Dan
    assignments: dict[str, int]


def proof(**changes) -> dict:
    """A complete proof of visit, with ``changes``."""
    return {"visited_at": VISITED, "receipt_number": "R-1042", "photo": None, "integrity": dict(INTEGRITY),
            "served_by": None} | changes


def send_shoppers(example) -> Visits:
    """Publish the template, add Sam and Olga (shoppers), and send Sam to Ann and Olga to Dan (by HR)."""
    with transaction() as session:
        hr = session.get(User, example.hr)
        template = publish_template(session, "branch-visit", "Branch visit", TEMPLATE, actor=hr)
        shoppers = {}
        for name, email in (("sam", "shopper@example.com"), ("olga", "olga@example.com")):
            user = User(email=email, name=f"{name.title()} Shopper", password_hash=_PASSWORD_HASH)
            user.roles = ["shopper"]
            session.add(user)
            session.flush()
            shoppers[name] = user.id
        assignments = {}
        for name, employee in (("sam", "ann"), ("olga", "dan")):
            assignments[name] = create_assignment(
                session, hr, template_id=template.id, shopper_id=shoppers[name], employee_id=example.ids[employee],
                scenario=f"Ask {employee.title()} how to open a savings account and pay a bill.",
                due_at=DUE, visit_from=VISIT_FROM, visit_until=VISIT_UNTIL).id
        template_id = template.id
    return Visits(template_id, shoppers, assignments)
