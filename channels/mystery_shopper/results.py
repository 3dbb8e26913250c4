"""Recording an approved report's results: per question and per section, and as feedback for the appraisal."""
from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.ingestion import ingest

from .models import QuestionResult, Report, SectionResult
from .scoring import ReportScore, score_report


class ResultsError(ValueError):
    """The report cannot be scored yet (no one who served, no visit time); the message says what is missing."""


def served_employee(report: Report) -> int | None:
    """The employee the report is about: who served, for a location; the assignment's employee otherwise."""
    return report.served_by or report.assignment.employee_id


def record_results(session: Session, report: Report) -> ReportScore:
    """Score ``report`` against its own template version and store what it found, once.

    Stores one SectionResult per section and one QuestionResult per question (replacing any from an earlier
    call), sets ``report.score``, and ingests a ``mystery_report`` item and one ``mystery_section`` item per
    applicable section about the employee who served. A second call stores no feedback twice.

    :raises ResultsError: when the report names no employee or no visit time.
    """
    employee_id = served_employee(report)
    if employee_id is None:
        raise ResultsError("served_by: name the employee who served (the assignment is to a location)")
    if report.visited_at is None:
        raise ResultsError("visited_at: the report has no visit time")
    template = report.template
    result = score_report(template.document, report.answers or {}, visit_type=report.assignment.visit_type)

    session.execute(delete(SectionResult).where(SectionResult.report_id == report.id))
    session.execute(delete(QuestionResult).where(QuestionResult.report_id == report.id))
    session.add_all(SectionResult(report_id=report.id, section=s.key, title=s.title, weight=s.weight,
                                  points=s.points, max_points=s.max_points, score=s.score)
                    for s in result.sections)
    session.add_all(QuestionResult(report_id=report.id, question=q.key, section=q.section, points=q.points,
                                   max_points=q.max_points, applicable=q.applicable,
                                   critical_failed=q.critical_failed) for q in result.questions)
    report.score = result.score
    session.flush()

    payload = {"report_id": report.id, "employee_id": employee_id, "visited_at": report.visited_at.isoformat(),
               "score": result.score, "template": template.slug, "template_version": template.version,
               "sections": [{"key": s.key, "title": s.title, "score": s.score}
                            for s in result.sections if s.score is not None]}
    outcome = ingest(session, "mystery_shopper", [payload])
    if outcome.rejected:  # our own payload: a rejection is a bug here, not the reviewer's error
        raise RuntimeError(f"report {report.id} was not ingested: {outcome.rejected[0].errors}")
    return result
