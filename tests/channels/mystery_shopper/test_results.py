"""Recording an approved report: results per question and section, and feedback about who served, once."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from channels.mystery_shopper.models import (
    Assignment,
    QuestionResult,
    Report,
    SectionResult,
)
from channels.mystery_shopper.results import ResultsError, record_results
from channels.mystery_shopper.template import publish_template
from core.models import Feedback

VISIT = datetime(2026, 11, 3, 10, 30, tzinfo=UTC)
TEMPLATE = {
    "sections": [{"key": "welcome", "title": "Welcome", "weight": 0.25},
                 {"key": "speed", "title": "Speed", "weight": 0.75},
                 {"key": "privacy", "title": "Privacy", "weight": 0.5}],
    "questions": [
        {"key": "Q1", "section": "welcome", "text": "Greeted?", "type": "yes_no",
         "choices": [{"key": "1", "label": "Yes", "points": 1}, {"key": "2", "label": "No", "points": 0}]},
        {"key": "Q2", "section": "speed", "text": "Wait?", "type": "single_choice",
         "choices": [{"key": "1", "label": "Up to 3 minutes", "points": 3},
                     {"key": "2", "label": "3-5 minutes", "points": 1},
                     {"key": "3", "label": "More", "points": 0}]},
        {"key": "Q3", "section": "privacy", "text": "Private?", "type": "yes_no",
         "choices": [{"key": "1", "label": "Yes", "points": 1}, {"key": "2", "label": "No", "points": 0},
                     {"key": "3", "label": "Not applicable", "not_applicable": True}]},
        {"key": "Q4", "section": "privacy", "text": "Notes", "type": "text", "required": False}],
}


@pytest.fixture
def visit(session, create_user, create_employee, create_team):
    """An approved-to-be report on an assignment: to an employee, or to a location with who served."""
    team = create_team("Support")
    ann, bob = create_employee("Ann", team=team), create_employee("Bob", team=team)
    hr = create_user("hr@example.com", roles=("hr",))
    shopper = create_user("shopper@example.com", roles=("shopper",))
    template = publish_template(session, "branch", "Branch visit", TEMPLATE, actor=hr)

    def make(answers, employee=ann, location=None, served_by=None):
        assignment = Assignment(template_id=template.id, shopper_id=shopper.id,
                                employee_id=employee.id if employee else None, location=location,
                                scenario="Ask about a card", due_at=VISIT, visit_from=datetime(2026, 11, 1, tzinfo=UTC),
                                visit_until=datetime(2026, 11, 8, tzinfo=UTC))
        session.add(assignment)
        session.flush()
        report = Report(assignment_id=assignment.id, template_id=template.id, answers=answers, visited_at=VISIT,
                        served_by=served_by.id if served_by else None, status="approved")
        session.add(report)
        session.flush()
        return report
    make.ann, make.bob = ann, bob
    return make


def test_results_are_stored_per_question_and_section_and_ingested(session, visit):
    report = visit({"Q1": "1", "Q2": "2", "Q3": "3", "Q4": "quick"})
    result = record_results(session, report)
    session.commit()
    # Welcome 1/1, speed 1/3, privacy N/A: (0.25 x 1 + 0.75 x 1/3) / (0.25 + 0.75) = 0.5
    assert report.score == pytest.approx(0.5) == result.score
    sections = {s.section: s for s in session.scalars(select(SectionResult).where(SectionResult.report_id == report.id))}
    assert {k: (s.points, s.max_points, s.score) for k, s in sections.items()} == {
        "welcome": (1, 1, 1.0), "speed": (1, 3, pytest.approx(1 / 3)), "privacy": (0, 0, None)}
    assert sections["speed"].weight == 0.75 and sections["speed"].title == "Speed"
    questions = {q.question: q for q in session.scalars(select(QuestionResult).where(QuestionResult.report_id == report.id))}
    assert (questions["Q2"].points, questions["Q2"].max_points, questions["Q2"].applicable) == (1, 3, True)
    assert not questions["Q3"].applicable and questions["Q3"].points is None
    assert questions["Q4"].applicable and questions["Q4"].points is None

    items = {f.external_id: f for f in session.scalars(select(Feedback).where(Feedback.channel == "mystery_shopper"))}
    assert set(items) == {f"report-{report.id}", f"report-{report.id}:welcome", f"report-{report.id}:speed"}
    overall = items[f"report-{report.id}"]
    assert (overall.kind, overall.value, overall.scale_min, overall.scale_max) == ("mystery_report", 50.0, 0, 100)
    assert overall.employee_id == visit.ann.id and overall.occurred_at == VISIT and overall.status == "accepted"
    assert overall.attribution_policy == "subject"
    speed = items[f"report-{report.id}:speed"]
    assert speed.kind == "mystery_section" and speed.payload["section"] == "speed"
    assert speed.value == pytest.approx(100 / 3)


def test_recording_twice_stores_nothing_twice(session, visit):
    report = visit({"Q1": "1", "Q2": "1", "Q3": "1"})
    record_results(session, report)
    record_results(session, report)
    session.commit()
    counts = [session.scalar(select(func.count()).select_from(model)) for model in (SectionResult, QuestionResult)]
    assert counts == [3, 4]
    assert session.scalar(select(func.count()).select_from(Feedback)) == 4
    assert report.score == 1.0


def test_a_location_report_is_about_who_served(session, visit):
    report = visit({"Q1": "2", "Q2": "3", "Q3": "2"}, employee=None, location="Main street branch",
                   served_by=visit.bob)
    record_results(session, report)
    session.commit()
    overall = session.scalar(select(Feedback).where(Feedback.external_id == f"report-{report.id}"))
    assert overall.employee_id == visit.bob.id and overall.value == 0.0


def test_a_location_report_without_who_served_is_refused(session, visit):
    report = visit({"Q1": "1"}, employee=None, location="Main street branch")
    with pytest.raises(ResultsError, match="served_by"):
        record_results(session, report)


def test_the_report_keeps_its_template_version(session, visit, create_user):
    report = visit({"Q1": "1", "Q2": "1", "Q3": "1"})
    changed = {**TEMPLATE, "sections": [{**s, "weight": 1} for s in TEMPLATE["sections"]]}
    changed["questions"] = [{**q, "critical": True} if q["key"] == "Q1" else q for q in TEMPLATE["questions"]]
    newer = publish_template(session, "branch", "Branch visit", changed, actor=None)
    assert newer.version == 2 and report.template.version == 1
    report.answers = {"Q1": "2", "Q2": "1", "Q3": "1"}
    record_results(session, report)
    assert report.score == pytest.approx((0.75 + 0.5) / 1.5)  # v1: Q1 is not critical there
