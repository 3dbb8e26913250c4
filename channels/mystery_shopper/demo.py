"""The demo's mystery shopping: a short branch-visit template, and visits to demo agents, reported and approved.

Everything goes through the real functions (publish, assign, submit, approve), so the demo's reports are
scored, audited and turned into feedback exactly as a shopper's would be. A second run adds nothing.
"""
from __future__ import annotations

from datetime import timedelta
from random import Random

from sqlalchemy import select

from core.demo import DOMAIN, SEED
from core.models import Employee, User, utcnow

from .assignments import create_assignment
from .models import Assignment
from .reports import approve_report, submit_report
from .template import publish_template, template_in_force

SLUG = "branch_visit"
TITLE = "Branch visit"
YES_NO = [{"key": "yes", "label": "Yes", "label_ar": "نعم", "points": 1},
          {"key": "no", "label": "No", "label_ar": "لا", "points": 0}]
#: A small questionnaire of our own: welcome, the need understood, a critical privacy check, a bonus.
TEMPLATE = {
    "sections": [
        {"key": "welcome", "title": "Welcome", "title_ar": "الترحيب", "weight": 0.3},
        {"key": "service", "title": "Service", "title_ar": "الخدمة", "weight": 0.5},
        {"key": "privacy", "title": "Customer privacy", "title_ar": "خصوصية العميل", "weight": 0.2,
         "critical_scope": "section"},
    ],
    "questions": [
        {"key": "W1", "section": "welcome", "type": "yes_no", "choices": YES_NO,
         "text": "Were you greeted within a minute of arriving?", "text_ar": "هل تم الترحيب بك خلال دقيقة من وصولك؟"},
        {"key": "W2", "section": "welcome", "type": "scale", "scale": {"min": 1, "max": 5},
         "text": "How welcome did the employee make you feel?", "help": "1: not at all, 5: very"},
        {"key": "S1", "section": "service", "type": "yes_no", "choices": YES_NO,
         "text": "Did the employee ask what you needed before offering anything?"},
        {"key": "S2", "section": "service", "type": "single_choice", "text": "Was your question answered?",
         "choices": [{"key": "full", "label": "Fully", "points": 2}, {"key": "part", "label": "In part", "points": 1},
                     {"key": "none", "label": "Not at all", "points": 0}]},
        {"key": "S3", "section": "service", "type": "yes_no", "choices": YES_NO, "required": False,
         "show_if": {"question": "S2", "answers": ["part", "none"]},
         "text": "Were you offered another way to get an answer?"},
        {"key": "S4", "section": "service", "type": "yes_no", "choices": YES_NO, "bonus": True,
         "text": "Did the employee suggest something useful you had not asked about?"},
        {"key": "S5", "section": "service", "type": "number", "required": False,
         "text": "How many minutes did you wait to be served?"},
        {"key": "P1", "section": "privacy", "type": "yes_no", "critical": True, "text":
         "Did the employee keep your account details out of other customers' hearing?", "choices": [
             *YES_NO, {"key": "na", "label": "Not applicable", "points": None, "not_applicable": True}]},
        {"key": "C1", "section": "service", "type": "text", "required": False, "text": "Anything else to tell?"},
    ],
}
#: Visits: (agent, days ago, answers). The shopper reports each the day after; HR approves all but the last.
VISITS = [
    ("Jonas Weber", 20, {"W1": "yes", "W2": 5, "S1": "yes", "S2": "full", "S4": "yes", "S5": 2, "P1": "yes"}),
    ("Chloé Martin", 16, {"W1": "yes", "W2": 4, "S1": "no", "S2": "part", "S3": "yes", "S4": "no", "S5": 6,
                          "P1": "na", "C1": "Busy branch; still polite."}),
    ("Grace Kim", 12, {"W1": "no", "W2": 3, "S1": "yes", "S2": "full", "S4": "no", "S5": 9, "P1": "no"}),
    ("Yuki Tanaka", 8, {"W1": "yes", "W2": 4, "S1": "yes", "S2": "none", "S3": "no", "S4": "no", "S5": 4,
                        "P1": "yes"}),
    ("Jonas Weber", 4, {"W1": "yes", "W2": 4, "S1": "yes", "S2": "full", "S4": "no", "S5": 3, "P1": "yes"}),
]
INTEGRITY = {"identity_revealed": False, "knows_employee": False, "followed_scenario": True}


def demo_steps() -> int:
    return len(VISITS)


def shop_demo(session_factory, progress=None) -> int:
    """Publish the demo template and report the demo visits not yet made; return how many were added."""
    added = 0
    rng = Random(f"{SEED}:mystery")
    with session_factory() as session, session.begin():
        hr = session.scalar(select(User).where(User.email == f"hr@{DOMAIN}"))
        if hr is None or session.scalar(select(User.id).where(User.email == f"shopper@{DOMAIN}")) is None:
            return 0  # not the demo organisation
        if template_in_force(session, SLUG) is None:
            publish_template(session, SLUG, TITLE, TEMPLATE, actor=hr, note="the demo's questionnaire")
    for number, (agent, days_ago, answers) in enumerate(VISITS, start=1):
        reference = f"demo-visit-{number}"
        # The shopper's draws happen for every visit, made or not, so a re-run draws the same numbers.
        hours, receipt = rng.randint(1, 30), f"Q-{rng.randint(1000, 9999)}"
        with session_factory() as session, session.begin():
            if session.scalar(select(Assignment.id).where(Assignment.external_ref == reference)) is None:
                _visit(session, number, agent, days_ago, answers, hours, receipt)
                added += 1
        if progress:
            progress(1)
    return added


def _visit(session, number: int, agent: str, days_ago: int, answers: dict, hours: int, receipt: str) -> None:
    hr, shopper = (session.scalar(select(User).where(User.email == f"{role}@{DOMAIN}")) for role in ("hr", "shopper"))
    template = template_in_force(session, SLUG)
    employee = session.scalar(select(Employee).where(Employee.name == agent))
    visit = (utcnow() - timedelta(days=days_ago)).replace(hour=10, minute=0, second=0, microsecond=0)
    assignment = create_assignment(
        session, hr, template_id=template.id, shopper_id=shopper.id, employee_id=employee.id,
        scenario="Ask how to move a monthly plan to another account holder, and what it costs.",
        due_at=visit + timedelta(days=3), visit_from=visit, visit_until=visit + timedelta(days=2),
        external_ref=f"demo-visit-{number}")
    report = submit_report(session, assignment.id, shopper, answers, {
        "visited_at": visit + timedelta(hours=hours), "receipt_number": receipt, "integrity": INTEGRITY,
        "photo": None})
    if number < len(VISITS):  # the latest waits for review, so the review queue shows one
        approve_report(session, report.id, hr)
