"""The channel's pages under ``/channels/mystery_shopper``: assignments, the shopper's form, and review.

Shoppers see and fill in only their own assignments; HR and managers assign visits and review reports
about the people they may see. Decisions go through :mod:`.assignments` and :mod:`.reports`, which check
who may act and audit it; the views read forms and turn refusals into messages at the fields.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core import local_time
from core.auth import roles_required
from core.db import get_session
from core.models import Employee, User, UserRole
from core.request_limits import allow_larger
from web.scope import visible_employees

from .assignments import AssignmentError, assignments_for, create_assignment
from .models import Assignment, Report, ReportTemplate
from .proof import (
    INTEGRITY_CONCERNS,
    INTEGRITY_QUESTIONS,
    PHOTO_MAX_BYTES,
    PHOTO_TYPES,
    stored_photo,
)
from .report_form import REPORT_REQUEST_LIMIT, answers_from, proof_from, sections_of
from .reports import (
    EDITABLE,
    ReportError,
    approve_report,
    may_review,
    moment,
    parse_moment,
    return_report,
    reviewable_reports,
    save_draft,
    served_by,
    submit_report,
)
from .template import document_for_visit, visit_types_of

bp = Blueprint("mystery_shopper", __name__, template_folder="templates")
bp.record_once(lambda state: allow_larger(state.app, "mystery_shopper.report_form", REPORT_REQUEST_LIMIT,
                                         "shopper"))

PEOPLE = ("hr", "manager")
#: Assignments and reports listed per page, newest first.
LIST_LIMIT = 200


# --- assignments --------------------------------------------------------------------------------------------


@bp.get("/assignments")
@roles_required("shopper", *PEOPLE)
def assignments():
    """A shopper's own assignments; for HR and managers, those about the people they may see."""
    session = get_session()
    served = aliased(Employee)
    mine = assignments_for(session, current_user).with_only_columns(Assignment.id)
    rows = session.execute(
        select(Assignment, ReportTemplate.title, Employee.name, Report.status, Report.id, served.name)
        .join(ReportTemplate, ReportTemplate.id == Assignment.template_id)
        .outerjoin(Employee, Employee.id == Assignment.employee_id)
        .outerjoin(Report, Report.assignment_id == Assignment.id)
        .outerjoin(served, served.id == Report.served_by)
        .where(Assignment.id.in_(mine))
        .order_by(Assignment.due_at.desc(), Assignment.id.desc()).limit(LIST_LIMIT)).all()
    return render_template("mystery_shopper/assignments.html", rows=rows, moment=moment,
                           is_shopper=current_user.has_role("shopper"),
                           may_assign=current_user.has_role(*PEOPLE))


@bp.route("/assignments/new", methods=["GET", "POST"])
@roles_required(*PEOPLE)
def new_assignment():
    """Send a shopper to an employee (or, for HR, a location) with a scenario, a due date and a visit window."""
    session = get_session()
    errors, posted = {}, request.form
    if request.method == "POST":
        # Every field that cannot be read, in one round; then the checks that need them all, in a second.
        fields, errors = _assignment_fields(posted)
        if not errors:
            try:
                assignment = create_assignment(session, current_user, **fields)
                session.commit()
            except AssignmentError as exc:
                session.rollback()
                errors = exc.problems
            except PermissionError as exc:
                session.rollback()
                abort(403, description=str(exc))
            else:
                flash(f"Assignment {assignment.id} sent to the shopper.")
                return redirect(url_for(".assignments"))
    latest = (select(ReportTemplate.slug, func.max(ReportTemplate.version).label("version"))
              .group_by(ReportTemplate.slug).subquery())
    rows = session.execute(
        select(ReportTemplate.id, ReportTemplate.title, ReportTemplate.version, ReportTemplate.document)
        .join(latest, (latest.c.slug == ReportTemplate.slug) & (latest.c.version == ReportTemplate.version))
        .order_by(ReportTemplate.title)).all()
    templates = [(row.id, row.title, row.version, visit_types_of(row.document)) for row in rows]
    shoppers = session.execute(
        select(User.id, User.name).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "shopper", User.active.is_(True)).order_by(User.name)).all()
    employees = session.execute(
        select(Employee.id, Employee.name).where(visible_employees(current_user), Employee.active.is_(True),
                                                 Employee.id != (current_user.employee_id or 0))
        .order_by(Employee.name)).all()
    visit_types = sorted({t for *_, types in templates for t in types})
    return render_template("mystery_shopper/new_assignment.html", templates=templates, shoppers=shoppers,
                           employees=employees, visit_types=visit_types, errors=errors, posted=posted,
                           may_use_location=current_user.has_role("hr")), 400 if errors else 200


def _assignment_fields(form) -> tuple[dict, dict[str, str]]:
    """The form's fields as :func:`create_assignment` takes them, and every one that cannot be read, by name."""
    fields, errors = {}, {}
    for name in ("template_id", "shopper_id", "employee_id"):
        raw = form.get(name, "").strip()
        if not raw and name == "employee_id":
            fields[name] = None
            continue
        if not raw.isdigit() or len(raw) > 9:
            errors[name] = "choose one from the list"
            continue
        fields[name] = int(raw)
    for name, label in (("visit_from", "the start of the visit window"), ("visit_until", "its end"),
                        ("due_at", "when the report is due")):
        try:
            value = parse_moment(form.get(name, ""))
        except ValueError as exc:  # a time the clocks skip
            value, errors[name] = None, str(exc)
        else:
            if value is None:
                errors[name] = f"give {label} as a date and time"
        fields[name] = value
    fields["location"] = form.get("location") if current_user.has_role("hr") else None
    fields["scenario"] = form.get("scenario", "")
    fields["visit_type"] = form.get("visit_type", "").strip() or None
    if not fields["scenario"].strip():
        errors["scenario"] = "describe what the shopper should do and ask"
    return fields, errors


# --- the shopper's form -------------------------------------------------------------------------------------


@bp.route("/assignments/<int:assignment_id>", methods=["GET", "POST"])
@roles_required("shopper")
def report_form(assignment_id: int):
    """The report of one assignment: save a draft, or submit it for review (the shopper's own only)."""
    session = get_session()
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    if assignment.shopper_id != current_user.id:
        abort(403, description="This assignment is another shopper's.")
    report = assignment.report
    # Only the questions this visit's type may be asked are laid out; the others are N/A.
    document = document_for_visit(assignment.template.document, assignment.visit_type)
    problems, answers, proof = {}, dict(report.answers) if report else {}, None
    if request.method == "POST":
        answers, uploads = answers_from(request.form, request.files, document, answers)
        proof = proof_from(request.form, request.files, uploads)
        act = submit_report if request.form.get("action") == "submit" else save_draft
        try:
            saved = act(session, assignment.id, current_user, answers, proof)
            session.commit()
        except ReportError as exc:
            session.rollback()
            problems = exc.problems
        except PermissionError as exc:
            session.rollback()
            abort(403, description=str(exc))
        else:
            if saved.status == "submitted":
                flash("Report submitted: a reviewer will approve it or return it to you with a comment.")
                return redirect(url_for(".assignments"))
            flash("Draft saved. Submit it when every question is answered.")
            return redirect(url_for(".report_form", assignment_id=assignment.id))
        report = session.get(Report, report.id) if report is not None else None
    subject = session.get(Employee, assignment.employee_id) if assignment.employee_id else None
    return render_template(
        "mystery_shopper/report_form.html", assignment=assignment, report=report, subject=subject,
        window={"min": _visit_field(assignment.visit_from), "max": _visit_field(assignment.visit_until)},
        sections=sections_of(document), answers=answers, proof=_proof_shown(session, report, request.form, proof),
        problems=problems, integrity=INTEGRITY_QUESTIONS, moment=moment,
        editable=report is None or report.status in EDITABLE, photo_types=", ".join(PHOTO_TYPES),
        photo_limit=f"{PHOTO_MAX_BYTES / 1_000_000:.1f} MB", photo_max_bytes=PHOTO_MAX_BYTES,
        # A refused form keeps what was typed; a browser cannot be given a file back, so say to choose it again.
        photos_dropped={name for name, upload in request.files.items() if upload.filename} if problems else set()
        ), 400 if problems else 200


#: How a datetime-local field takes a date and time.
FIELD_TIME = "%Y-%m-%dT%H:%M"


def _visit_field(value: str | datetime | None) -> tuple[str, str]:
    """A visit time as its field shows it, on the organisation's clock, and in UTC for the page's script, which
    shows it on the shopper's own clock instead. What cannot be read is shown as it was typed."""
    try:
        moment = parse_moment(value) if isinstance(value, str) and value.strip() else value
    except ValueError:  # a time the clocks skip, refused at its field
        moment = None
    if not isinstance(moment, datetime):
        return (value if isinstance(value, str) else ""), ""
    return local_time.in_zone(moment).strftime(FIELD_TIME), moment.astimezone(UTC).strftime(FIELD_TIME + "Z")


def _proof_shown(session, report: Report | None, form, proof: dict | None) -> dict:
    """What the proof fields show: what was just posted, else what the report keeps."""
    if proof is not None:
        shown = {"receipt_number": form.get("receipt_number", ""),
                 "integrity": {k: form.get(f"integrity-{k}") for k in INTEGRITY_QUESTIONS},
                 "served_by": form.get("served_by", ""), "photo": report is not None and report.photo_path}
        visited_at = form.get("visited_at", "")
    elif report is None:
        shown = {"receipt_number": "", "integrity": {}, "served_by": "", "photo": False}
        visited_at = None
    else:
        shown = {"receipt_number": report.receipt_number or "",
                 "integrity": {k: {True: "yes", False: "no"}.get(v) for k, v in (report.integrity or {}).items()},
                 "served_by": session.get(Employee, report.served_by).name if report.served_by else "",
                 "photo": bool(report.photo_path)}
        visited_at = report.visited_at
    shown["visited_at"], shown["visited_at_utc"] = _visit_field(visited_at)
    return shown


# --- review -------------------------------------------------------------------------------------------------


@bp.get("/reviews")
@roles_required(*PEOPLE)
def reviews():
    """Reports waiting for review about the people the reviewer may decide for, oldest first."""
    served = aliased(Employee)
    shopper = aliased(User)
    query = reviewable_reports(current_user).with_only_columns(
        Report, Assignment, ReportTemplate.title, func.coalesce(served.name, Assignment.location), shopper.name)
    rows = get_session().execute(
        query.join(ReportTemplate, ReportTemplate.id == Report.template_id)
        .outerjoin(served, served.id == func.coalesce(Report.served_by, Assignment.employee_id))
        .join(shopper, shopper.id == Assignment.shopper_id)
        .where(Report.status == "submitted").order_by(Report.submitted_at, Report.id).limit(LIST_LIMIT)).all()
    return render_template("mystery_shopper/reviews.html", rows=rows, moment=moment)


@bp.route("/reviews/<int:report_id>", methods=["GET", "POST"])
@roles_required(*PEOPLE)
def review(report_id: int):
    """One report with its proof of visit: approve it (it is scored and counts) or return it with a comment."""
    session = get_session()
    report = _report_or_abort(report_id)
    errors = {}
    if request.method == "POST":
        decision = request.form.get("decision")
        try:
            if decision == "approve":
                approve_report(session, report.id, current_user)
                message = "Report approved: it is scored and counts in the employee's appraisal."
            elif decision == "return":
                return_report(session, report.id, current_user, request.form.get("comment", ""))
                message = "Report returned to the shopper with your comment."
            else:
                raise ReportError({"decision": "choose approve or return"})
            session.commit()
        except ReportError as exc:
            session.rollback()
            errors = exc.problems
        except PermissionError as exc:
            session.rollback()
            abort(403, description=str(exc))
        else:
            flash(message)
            return redirect(url_for(".reviews"))
        report = _report_or_abort(report_id)
    assignment = report.assignment
    names = dict(session.execute(select(Employee.id, Employee.name).where(
        Employee.id.in_([i for i in (assignment.employee_id, report.served_by) if i is not None]))).all())
    shopper = session.get(User, assignment.shopper_id)
    return render_template(
        "mystery_shopper/review.html", report=report, assignment=assignment, shopper=shopper,
        employee=names.get(served_by(report)),
        sections=sections_of(document_for_visit(report.template.document, assignment.visit_type)),
        answers=report.answers or {}, integrity=INTEGRITY_QUESTIONS, concerns=INTEGRITY_CONCERNS,
        errors=errors, moment=moment, posted=request.form), 400 if errors else 200


@bp.get("/reviews/<int:report_id>/photo")
@roles_required(*PEOPLE)
def photo(report_id: int):
    """A report's proof photo, or a photo question's (``?question=<key>``), to its reviewers only."""
    report = _report_or_abort(report_id)
    question = request.args.get("question")
    if question is not None:
        # Only a photo question's answer names a photo: a text answer could name another report's file.
        photo_questions = {q["key"] for q in report.template.document["questions"] if q["type"] == "photo"}
        if question not in photo_questions:
            abort(404, description="This report has no such photo.")
    stored = report.photo_path if question is None else (report.answers or {}).get(question)
    found = stored_photo(get_session(), stored) if isinstance(stored, str) else None
    if found is None:
        abort(404, description="This report has no such photo.")
    content, kind = found
    response = (send_file(content, mimetype=kind, max_age=0) if isinstance(content, Path)
                else Response(content, mimetype=kind))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _report_or_abort(report_id: int) -> Report:
    session = get_session()
    report = session.get(Report, report_id)
    if report is None:
        abort(404)
    if not may_review(session, current_user, report):
        abort(403, description="Only HR or the manager of the employee who served reviews this report.")
    return report


# HR's template pages live in a module of their own, on this blueprint.
from . import template_pages  # noqa: F401
