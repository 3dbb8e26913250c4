"""A shopper's report through its life: drafted, submitted, then approved or returned by a reviewer.

Only the assignment's shopper writes the report. A reviewer (HR, or a manager of the employee who served)
approves it, which scores it and makes it count, or returns it with a comment for the shopper to fix.
Nothing is written when any field is wrong: :class:`ReportError` names every one.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from appraisal.review import may_decide_for
from core import local_time
from core.models import Employee, managed_teams, record_audit, utcnow

from .answers import answer_problems, shown_answers
from .models import Assignment, Report
from .proof import (
    INTEGRITY_QUESTIONS,
    ProofError,
    discard_photo,
    read_photo,
    store_photo,
)

RECEIPT_LIMIT = 100
COMMENT_LIMIT = 2000
#: Dates the database and Python both hold, in any time zone (the pages and the API refuse others).
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)
#: How far ahead of the server's clock a visit may be dated: the shopper's phone may run a little fast.
CLOCK_SKEW = timedelta(minutes=5)
#: The one answer to a badge name that names no single employee, however it failed: a shopper learns
#: nothing about who works here from it (compare "no one called X" with "several people are called X").
UNMATCHED = "nobody of that name could be matched at this visit: write the full name on their badge"
#: A report in these states is the shopper's to change; the others wait for, or have had, a review.
EDITABLE = ("draft", "returned")


class ReportError(ValueError):
    """Fields of a report are wrong: ``problems`` maps each field (or question key) to its message."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
        self.problems = problems


def save_draft(session: Session, assignment_id: int, user, answers: dict, proof: dict) -> Report:
    """Keep what the shopper has so far; only answers of the wrong kind are refused, not missing ones.

    :raises PermissionError: when ``user`` is not the assignment's shopper.
    :raises ReportError: naming every wrong field.
    """
    return _write(session, assignment_id, user, answers, proof, final=False)


def submit_report(session: Session, assignment_id: int, user, answers: dict, proof: dict) -> Report:
    """Submit the report for review: every required question shown, and the proof of visit, must be given.

    :param proof: {"visited_at", "receipt_number", "photo" (an upload or None), "integrity": {key: bool},
        "served_by" (the employee who served, for an assignment to a location)}.
    :raises PermissionError: when ``user`` is not the assignment's shopper.
    :raises ReportError: naming every wrong field, e.g. a visit outside the assignment's window.
    """
    return _write(session, assignment_id, user, answers, proof, final=True)


def _write(session: Session, assignment_id: int, user, answers: dict, proof: dict, *, final: bool) -> Report:
    assignment = session.get(Assignment, assignment_id, with_for_update=True)
    if assignment is None:
        raise LookupError(f"no assignment {assignment_id}")
    if assignment.shopper_id != user.id:
        raise PermissionError("this assignment is another shopper's")
    # Queried, not read from the relationship: a draft saved earlier in this session may not be on it yet.
    report = session.scalar(select(Report).where(Report.assignment_id == assignment.id).with_for_update())
    if assignment.status != "assigned":
        raise ReportError({"assignment": f"this assignment was {assignment.status}; nothing can be reported"})
    if report is not None and report.status not in EDITABLE:
        raise ReportError({"report": f"the report is {report.status}; it can be changed only once a reviewer "
                                     "returns it"})
    document = assignment.template.document
    answers = dict(answers or {})
    problems = answer_problems(document, answers, final=final, visit_type=assignment.visit_type)
    checked = _check_proof(session, assignment, proof or {}, final=final, problems=problems,
                           user_employee=getattr(user, "employee_id", None))
    if problems:
        raise ReportError(problems)

    if report is None:
        report = Report(assignment=assignment, template_id=assignment.template_id)
        session.add(report)
    before = None if report.id is None else {"status": report.status}
    kept = report.answers or {}
    for key, (data, kind) in checked.pop("question_photos").items():
        answers[key] = store_photo(session, data, kind)
        if kept.get(key) != answers[key]:
            discard_photo(session, kept.get(key))
    photo = checked.pop("photo")
    if photo is not None:
        discard_photo(session, report.photo_path)
        report.photo_path, report.photo_type = store_photo(session, *photo), photo[1]
    report.answers = shown_answers(document, answers, visit_type=assignment.visit_type)
    for field, value in checked.items():
        setattr(report, field, value)
    report.status = "submitted" if final else "draft"
    if final:
        report.submitted_at = utcnow()
    session.flush()
    record_audit(session, "mystery_report.submitted" if final else "mystery_report.draft_saved", report,
                 actor=user, before=before, after={
                     "status": report.status, "answered": len(report.answers),
                     "visited_at": report.visited_at.isoformat() if report.visited_at else None,
                     "receipt_number": report.receipt_number, "served_by": report.served_by,
                     "photo": report.photo_path is not None})
    return report


def _check_proof(session: Session, assignment: Assignment, proof: dict, *, final: bool,
                 problems: dict[str, str], user_employee: int | None = None) -> dict[str, Any]:
    """Read the proof of visit into report fields, adding a message to ``problems`` per wrong field."""
    checked: dict[str, Any] = {"question_photos": {}, "photo": None}
    visited_at = proof.get("visited_at")
    try:
        if isinstance(visited_at, str):
            visited_at = parse_moment(visited_at)
            if visited_at is None:
                problems["visited_at"] = "give the date and time of the visit, e.g. 2026-11-03 14:30"
        elif isinstance(visited_at, datetime):
            visited_at = local_time.on_clock(visited_at)
    except ValueError as exc:  # a time the clocks skip
        problems["visited_at"], visited_at = str(exc), None
    if isinstance(visited_at, datetime):
        if visited_at > utcnow() + CLOCK_SKEW:
            problems["visited_at"] = "the visit cannot be in the future: give when it took place"
        elif not assignment.visit_from <= visited_at <= assignment.visit_until:
            problems["visited_at"] = (f"the visit must be between {moment(assignment.visit_from)} and "
                                      f"{moment(assignment.visit_until)}, the assignment's visit window")
        checked["visited_at"] = visited_at
    elif final and "visited_at" not in problems:
        problems["visited_at"] = "give the date and time of the visit"

    receipt = (proof.get("receipt_number") or "").strip()
    if len(receipt) > RECEIPT_LIMIT:
        problems["receipt_number"] = f"keep it under {RECEIPT_LIMIT} characters"
    elif final and not receipt:
        problems["receipt_number"] = "give the number on the receipt (or the ticket or queue number)"
    checked["receipt_number"] = receipt or None

    integrity = proof.get("integrity") or {}
    for key in integrity:
        if key not in INTEGRITY_QUESTIONS:
            problems[f"integrity.{key}"] = "not an integrity question"
    for key in INTEGRITY_QUESTIONS:
        value = integrity.get(key)
        if (value is not None and not isinstance(value, bool)) or (final and value is None):
            problems[f"integrity.{key}"] = "answer yes or no"
    checked["integrity"] = {key: integrity[key] for key in INTEGRITY_QUESTIONS if integrity.get(key) is not None}

    served_by = proof.get("served_by")
    if isinstance(served_by, str):
        served_by = served_by.strip() or None
    if assignment.employee_id is not None:
        if served_by is not None:
            problems["served_by"] = "this visit is to a named employee; leave who served you empty"
        checked["served_by"] = None
    elif isinstance(served_by, str):
        checked["served_by"] = _employee_named(session, served_by, user_employee, problems)
    elif served_by is not None:
        problems["served_by"] = UNMATCHED  # a badge name only: an id would let a shopper try out the staff
    elif final:
        problems["served_by"] = "name the employee who served you, as on their badge"

    for field, upload in [("photo", proof.get("photo")), *(proof.get("question_photos") or {}).items()]:
        try:
            photo = read_photo(upload)
        except ProofError as exc:
            problems[field] = str(exc)
            continue
        if field == "photo":
            checked["photo"] = photo
        elif photo is not None:
            checked["question_photos"][field] = photo
    return checked


def _employee_named(session: Session, name: str, shopper_employee: int | None,
                    problems: dict[str, str]) -> int | None:
    """The one active employee called ``name`` (any case), never the shopper's own record.

    A shopper types the name on the badge: no list of staff is shown to them, and every failure gets the
    same message, so trying names tells them no more than a match does.
    """
    query = select(Employee.id).where(Employee.active.is_(True), func.lower(Employee.name) == name.lower())
    if shopper_employee is not None:
        query = query.where(Employee.id != shopper_employee)
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:
        problems["served_by"] = UNMATCHED
        return None
    return found[0]


def approve_report(session: Session, report_id: int, reviewer) -> Report:
    """Approve a submitted report: score it against its own template version, and let it count.

    :raises PermissionError: unless ``reviewer`` is HR or a manager of the employee who served (not them).
    :raises ReportError: when the report is not waiting for review.
    """
    # Imported here: results ingests through the channel, whose blueprint imports this module.
    from .results import ResultsError, record_results

    report = _reviewable(session, report_id, reviewer)
    report.status, report.reviewed_by, report.reviewed_at = "approved", reviewer.id, utcnow()
    report.review_comment = None
    try:
        record_results(session, report)
    except ResultsError as exc:
        field, _, message = str(exc).partition(": ")
        raise ReportError({field: message or field}) from exc
    record_audit(session, "mystery_report.approved", report, actor=reviewer, before={"status": "submitted"},
                 after={"status": "approved", "score": report.score})
    return report


def return_report(session: Session, report_id: int, reviewer, comment: str) -> Report:
    """Send a submitted report back to its shopper with a comment saying what to fix.

    :raises PermissionError: unless ``reviewer`` is HR or a manager of the employee who served (not them).
    :raises ReportError: when the report is not waiting for review, or the comment is missing.
    """
    comment = (comment or "").strip()
    if not comment:
        raise ReportError({"comment": "tell the shopper what to fix"})
    if len(comment) > COMMENT_LIMIT:
        raise ReportError({"comment": f"keep it under {COMMENT_LIMIT:,} characters"})
    report = _reviewable(session, report_id, reviewer)
    report.status, report.reviewed_by, report.reviewed_at = "returned", reviewer.id, utcnow()
    report.review_comment = comment
    record_audit(session, "mystery_report.returned", report, actor=reviewer, before={"status": "submitted"},
                 after={"status": "returned"}, note=comment)
    return report


def _reviewable(session: Session, report_id: int, reviewer) -> Report:
    report = session.get(Report, report_id, with_for_update=True)
    if report is None:
        raise LookupError(f"no report {report_id}")
    if (reviewer.has_role("hr", "manager") and reviewer.employee_id is not None
            and served_by(report) == reviewer.employee_id):  # said apart from the role check: it is not one
        raise PermissionError("this report is about you: nobody reviews a report about themselves")
    if not may_review(session, reviewer, report):
        raise PermissionError("only HR or the manager of the employee who served reviews this report")
    if report.status != "submitted":
        raise ReportError({"report": f"report {report_id} is {report.status}, not waiting for review"})
    return report


def served_by(report: Report) -> int | None:
    """The employee the report is about: the one named on a location visit, else the assignment's."""
    return report.served_by if report.served_by is not None else report.assignment.employee_id


def may_review(session: Session, reviewer, report: Report) -> bool:
    """HR, or a manager of the employee who served; never a report about oneself, nor one's own shopping."""
    if not reviewer.has_role("hr", "manager") or report.assignment.shopper_id == reviewer.id:
        return False
    return may_decide_for(session, reviewer, served_by(report))


def reviewable_reports(user) -> Select:
    """A SELECT of (Report, Assignment) rows ``user`` may review, in any state; narrow it by status."""
    employee = func.coalesce(Report.served_by, Assignment.employee_id)
    query = select(Report, Assignment).join(Assignment, Report.assignment_id == Assignment.id)
    if user.has_role("hr"):
        clause = Assignment.shopper_id != user.id
    elif user.has_role("manager") and user.employee_id is not None:
        clause = (employee.in_(select(Employee.id).where(Employee.team_id.in_(managed_teams(user.employee_id))))
                  & (employee != user.employee_id) & (Assignment.shopper_id != user.id))
    else:
        clause = false()
    if user.employee_id is not None:
        clause = clause & ((employee != user.employee_id) | employee.is_(None))
    return query.where(clause)


def parse_moment(raw: str) -> datetime | None:
    """A date and time as typed or sent (ISO 8601, 'T' or a space), in UTC; naive values are on the
    organisation's clock.

    None when it cannot be read, or lies outside :data:`EARLIEST`-:data:`LATEST` (``0001-01-01T00:00+05:00``
    is a valid ISO date whose UTC time Python cannot hold): the caller refuses it naming its field.

    :raises ValueError: saying why, for a time the organisation's clocks skip.
    """
    try:
        typed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    try:
        value = local_time.on_clock(typed)
    except OverflowError:
        return None
    return value if EARLIEST <= value <= LATEST else None


def moment(value: datetime) -> str:
    """A date and time as shown to people, on the organisation's clock: 2026-11-03 14:30 UTC."""
    return local_time.shown(value)
