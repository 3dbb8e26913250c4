"""Mystery shopping over the API: agencies create assignments and submit their shoppers' reports.

Two kinds of token call here (core.auth): an HR account's token with ``mystery:assign`` creates assignments
(and with ``mystery:read`` lists every one); a shopper's own token, limited to ``mystery:read`` and
``mystery:submit``, reads and reports on that shopper's assignments only. Another shopper's assignment is
refused with 403 whatever the token, because the domain functions decide it for the token's owner.
"""
from __future__ import annotations

import base64
import binascii
import io
from datetime import UTC

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)
from sqlalchemy import select
from sqlalchemy.orm import aliased
from werkzeug.datastructures import FileStorage

from channels.mystery_shopper.assignments import (
    AssignmentError,
    assignments_for,
    create_assignment,
)
from channels.mystery_shopper.demo import demo_steps, shop_demo
from channels.mystery_shopper.models import (
    ASSIGNMENT_STATUSES,
    REPORT_STATUSES,
    Assignment,
    Report,
    ReportTemplate,
)
from channels.mystery_shopper.proof import INTEGRITY_QUESTIONS, PHOTO_MAX_BYTES
from channels.mystery_shopper.reports import (
    EARLIEST,
    LATEST,
    ReportError,
    submit_report,
)
from channels.mystery_shopper.template import document_for_visit, template_in_force
from core.accounts import user_by_email
from core.auth import token_required
from core.db import get_session
from core.demo import DEMO_STEPS_KEY
from core.models import Employee, User
from core.plugins import get_plugins
from core.storable_text import unstorable_text

from .access import token_owner
from .arguments import MAX_ID, Flag, Id, ListArguments, Slug, Text
from .listing import QueryListing, listing

blp = Blueprint("mystery", __name__, url_prefix="/api/v1/mystery",
                description="Mystery-shopping assignments, created by HR or an agency, and the shoppers' reports.")


@blp.record_once
def _add_demo_step(state) -> None:
    """Let ``plaudit demo`` send its shopper on visits, when the mystery_shopper plugin is loaded.

    Plugins have no hook into the demo, and this module is where the channel meets the app; the step runs
    before the appraisal's (registered later), so the demo's mystery feedback is appraised with the rest.
    """
    if get_plugins(state.app).pm.get_plugin("mystery_shopper") is not None:
        state.app.extensions.setdefault(DEMO_STEPS_KEY, []).append(
            ("sending the demo's mystery shopper", demo_steps, shop_demo))

#: A photo of PHOTO_MAX_BYTES, base64-encoded (the app's request size limit refuses more anyway).
PHOTO_BASE64 = (PHOTO_MAX_BYTES + 2) // 3 * 4
#: The create_assignment and submit_report argument a domain error names -> the body field it came from.
BODY_FIELDS = {"template_id": "template", "shopper_id": "shopper", "employee_id": "employee",
               "served_by": "served_by"}


def Moment(**kwargs) -> fields.AwareDateTime:
    """An ISO 8601 date and time; one without a time zone is taken as UTC."""
    return fields.AwareDateTime(default_timezone=UTC, validate=validate.Range(EARLIEST, LATEST), **kwargs)


class AssignmentSchema(Schema):
    id = fields.Integer()
    template = fields.String(metadata={"description": "the report template's slug"})
    template_id = fields.Integer(metadata={"description": "the template version the report is filled against"})
    template_version = fields.Integer()
    shopper = fields.String(metadata={"description": "the shopper's e-mail"})
    employee_id = fields.Integer(allow_none=True, metadata={"description": "who is visited, or null for a location"})
    employee = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    visit_type = fields.String(allow_none=True, metadata={
        "description": "the type of visit (e.g. enquiry); null: every question of the template applies"})
    scenario = fields.String()
    due_at = fields.DateTime()
    visit_from = fields.DateTime()
    visit_until = fields.DateTime()
    status = fields.String(metadata={"description": ", ".join(ASSIGNMENT_STATUSES)})
    external_ref = fields.String(allow_none=True, metadata={"description": "the agency's own reference"})
    report_id = fields.Integer(allow_none=True)
    report_status = fields.String(allow_none=True, metadata={
        "description": f"{', '.join(REPORT_STATUSES)}, or null before any report"})
    score = fields.Float(allow_none=True, metadata={"description": "the approved report's score, 0-1"})


class AssignmentDetailSchema(AssignmentSchema):
    questions = fields.Dict(metadata={"description": "the template version's sections and the questions this "
                                                     "visit type may be asked, as docs/mystery.md describes "
                                                     "them: what the report answers"})
    review_comment = fields.String(allow_none=True, metadata={"description": "why a reviewer returned it"})


class AssignmentArguments(ListArguments):
    status = fields.String(validate=validate.OneOf(ASSIGNMENT_STATUSES))
    report_status = fields.String(validate=validate.OneOf([*REPORT_STATUSES, "none"]), metadata={
        "description": "only assignments whose report is in this state; `none`: not reported yet"})
    external_ref = Text(100, metadata={"description": "only the assignment with this reference of yours"})


class NewAssignmentSchema(Schema):
    template = Slug(required=True, metadata={"description": "the template's slug: its version in force is used"})
    shopper = fields.Email(required=True, validate=validate.Length(max=255), metadata={
        "description": "e-mail of the shopper's Plaudit account (role shopper)"})
    employee = Id(load_default=None, metadata={"description": "the employee to visit (or give location)"})
    location = Text(200, load_default=None, metadata={"description": "a place whose staff are visited; the "
                                                                     "report then names who served"})
    visit_type = Text(30, load_default=None, metadata={
        "description": "one of the template's visit types (its questions' visit_types, e.g. enquiry or "
                       "transaction): only that type's questions, and those of every type, are asked and scored; "
                       "omit it to ask every question"})
    scenario = Text(5000, required=True, metadata={"description": "what the shopper does and asks"})
    due_at = Moment(required=True, metadata={"description": "when the report is due"})
    visit_from = Moment(required=True, metadata={"description": "the visit window's start"})
    visit_until = Moment(required=True, metadata={"description": "the visit window's end"})
    external_ref = Text(100, load_default=None, metadata={
        "description": "your reference; one assignment per reference per account"})

    @validates_schema
    def _window(self, data, **_kwargs):
        if data.get("visit_from") and data.get("visit_until") and data["visit_until"] <= data["visit_from"]:
            raise ValidationError("must be after visit_from", field_name="visit_until")


class ReportBodySchema(Schema):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(1, 50)), values=fields.Raw(allow_none=True),
                          required=True, metadata={"description": "question key -> answer: a choice key, a list "
                                                   "of choice keys, a number, an ISO date-time or text"})
    visited_at = Moment(required=True, metadata={"description": "when the visit took place: inside the window"})
    receipt_number = Text(100, load_default=None)
    integrity = fields.Dict(keys=fields.String(validate=validate.OneOf(INTEGRITY_QUESTIONS)),
                            values=Flag(), load_default=dict, metadata={
                                "description": "; ".join(f"{key}: {text}" for key, text in INTEGRITY_QUESTIONS.items())})
    served_by = Text(200, load_default=None, metadata={
        "description": "for a location: the name on the badge of who served, as the shopper read it (not an "
                       "id: a shopper is never shown the staff); a name no single employee has is refused"})
    photo = fields.String(load_default=None, validate=validate.Length(max=PHOTO_BASE64), metadata={
        "description": "an optional photo proving the visit: a JPEG, PNG or WebP image, base64-encoded"})
    photos = fields.Dict(keys=fields.String(validate=validate.Length(1, 50)),
                         values=fields.String(validate=validate.Length(max=PHOTO_BASE64)), load_default=dict,
                         metadata={"description": "question key -> base64 image, for the questions of type photo"})

    @validates("answers")
    def _storable(self, answers, **_kwargs):
        unstorable = {path: [problem] for path, problem in unstorable_text(answers)}
        if unstorable:
            raise ValidationError(unstorable)


class ReportSchema(Schema):
    id = fields.Integer()
    assignment_id = fields.Integer()
    template_id = fields.Integer()
    status = fields.String(metadata={"description": ", ".join(REPORT_STATUSES)})
    visited_at = fields.DateTime(allow_none=True)
    receipt_number = fields.String(allow_none=True)
    served_by = fields.Integer(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    answers = fields.Dict()
    integrity = fields.Dict()


def _assignments(owner):
    """Every assignment ``owner`` may see, with its template, shopper, employee and report, in one SELECT."""
    shopper = aliased(User)
    visible = assignments_for(get_session(), owner).with_only_columns(Assignment.id).scalar_subquery()
    return (select(Assignment.id, ReportTemplate.slug.label("template"), Assignment.template_id,
                   ReportTemplate.version.label("template_version"), shopper.email.label("shopper"),
                   Assignment.employee_id, Employee.name.label("employee"), Assignment.location,
                   Assignment.visit_type, Assignment.scenario, Assignment.due_at, Assignment.visit_from,
                   Assignment.visit_until,
                   Assignment.status, Assignment.external_ref, Report.id.label("report_id"),
                   Report.status.label("report_status"), Report.score, Report.review_comment,
                   ReportTemplate.document)
            .join(ReportTemplate, ReportTemplate.id == Assignment.template_id)
            .join(shopper, shopper.id == Assignment.shopper_id)
            .outerjoin(Employee, Employee.id == Assignment.employee_id)
            .outerjoin(Report, Report.assignment_id == Assignment.id)
            .where(Assignment.id.in_(visible)))


def _item(row) -> dict:
    item = row._asdict()
    if item["report_status"] != "approved":
        item["score"] = None  # only an approved report's score counts
    item["questions"] = document_for_visit(item.pop("document"), item["visit_type"])
    return item


def _readable_assignment(assignment_id: int) -> dict:
    """The assignment, if the token's owner may see it: 404 when there is none, 403 when it is not theirs."""
    session = get_session()
    exists = 0 < assignment_id <= MAX_ID and session.get(Assignment, assignment_id) is not None
    if not exists:
        abort(404, message=f"no assignment {assignment_id}")
    row = session.execute(_assignments(token_owner()).where(Assignment.id == assignment_id)).first()
    if row is None:
        abort(403, message=f"assignment {assignment_id} is not yours to read")
    return _item(row)


def _invalid(problems: dict[str, str]):
    """Answer 422 naming every field in ``problems``, as flask-smorest does for a body that fails its schema."""
    message = "; ".join(f"{field}: {text}" for field, text in problems.items())
    abort(422, message=message, errors={"json": {field: [text] for field, text in problems.items()}})


@blp.route("/assignments/")
class Assignments(MethodView):
    decorators = (token_required("mystery:read"),)

    @blp.arguments(AssignmentArguments, location="query")
    @listing(blp, AssignmentSchema, name="assignments")
    def get(self, args):
        """List the assignments the token's account may see (HR: all; a shopper: their own), due first."""
        query = _assignments(token_owner())
        if "status" in args:
            query = query.where(Assignment.status == args["status"])
        if args.get("report_status") == "none":
            query = query.where(Report.id.is_(None))
        elif "report_status" in args:
            query = query.where(Report.status == args["report_status"])
        if "external_ref" in args:
            query = query.where(Assignment.external_ref == args["external_ref"])
        return QueryListing(query.order_by(Assignment.due_at, Assignment.id), _item)


@blp.route("/assignments/")
class NewAssignment(MethodView):
    decorators = (token_required("mystery:assign"),)

    @blp.arguments(NewAssignmentSchema)
    @blp.response(201, AssignmentDetailSchema, description="created (audited)",
                  headers={"Location": {"description": "the assignment's address", "schema": {"type": "string"}}})
    @blp.alt_response(409, response="CONFLICT", description="you already have an assignment with that external_ref")
    def post(self, body):
        """Create an assignment: a shopper, the employee or location visited, the scenario and visit window."""
        session, owner = get_session(), token_owner()
        if body["external_ref"] and session.scalar(select(Assignment.id).where(
                Assignment.created_by == owner.id, Assignment.external_ref == body["external_ref"].strip())):
            abort(409, message=f"external_ref: you already have an assignment {body['external_ref']!r}; "
                               f"find it with ?external_ref=")
        # Named here by slug and e-mail, as the body names them; every other field by the domain, all at once.
        found: dict[str, str] = {}
        template = template_in_force(session, body["template"])
        if template is None:
            found["template"] = f"no report template {body['template']!r}"
        shopper = user_by_email(session, body["shopper"])
        if shopper is None or not shopper.active or not shopper.has_role("shopper"):
            # One message whether or not the address has an account: a token must not tell accounts apart.
            found["shopper"] = f"no active shopper account has the e-mail {body['shopper']}"
        try:
            assignment = create_assignment(
                session, owner, template_id=template.id if template else 0, shopper_id=shopper.id if shopper else 0,
                employee_id=body["employee"], location=body["location"], visit_type=body["visit_type"],
                scenario=body["scenario"], due_at=body["due_at"], visit_from=body["visit_from"],
                visit_until=body["visit_until"], external_ref=body["external_ref"])
        except AssignmentError as exc:
            session.rollback()
            _invalid({**{BODY_FIELDS.get(field, field): text for field, text in exc.problems.items()}, **found})
        except PermissionError as exc:
            session.rollback()
            abort(403, message=str(exc))
        session.commit()
        return (_readable_assignment(assignment.id), 201,
                {"Location": url_for("mystery.OneAssignment", assignment_id=assignment.id)})


@blp.route("/assignments/<int:assignment_id>")
class OneAssignment(MethodView):
    decorators = (token_required("mystery:read"),)

    @blp.response(200, AssignmentDetailSchema)
    def get(self, assignment_id):
        """Read one assignment with the questions its report answers; 403 when it is another shopper's."""
        return _readable_assignment(assignment_id)


def _upload(field: str, encoded: str | None, problems: dict[str, str]) -> FileStorage | None:
    """A base64 photo as the upload the domain reads (it checks the size and the image type itself)."""
    if encoded is None:
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        problems[field] = "send the image base64-encoded"
        return None
    return FileStorage(io.BytesIO(data), filename=field)


def _photo_questions(assignment_id: int) -> set[str]:
    document = get_session().scalar(select(ReportTemplate.document).join(
        Assignment, Assignment.template_id == ReportTemplate.id).where(Assignment.id == assignment_id))
    return {question["key"] for question in document["questions"] if question["type"] == "photo"}


@blp.route("/assignments/<int:assignment_id>/report")
class AssignmentReport(MethodView):
    decorators = (token_required("mystery:submit"),)

    @blp.arguments(ReportBodySchema)
    @blp.response(201, ReportSchema, description="submitted: it waits for a reviewer's approval (audited)")
    def post(self, body, assignment_id):
        """Submit the report of a visit, as the assignment's shopper; 422 names every wrong field."""
        session = get_session()
        assignment = session.get(Assignment, assignment_id) if 0 < assignment_id <= MAX_ID else None
        if assignment is None:
            abort(404, message=f"no assignment {assignment_id}")
        if assignment.shopper_id != token_owner().id:
            # submit_report refuses it too; saying so first tells another shopper nothing about its questions.
            abort(403, message=f"assignment {assignment_id} is another shopper's: only its shopper reports on it")
        problems: dict[str, str] = {}
        photo_questions = _photo_questions(assignment_id)
        for key in photo_questions & set(body["answers"]):
            # A photo answer is a file the domain stored; a name sent here could point anywhere.
            problems[f"answers.{key}"] = f"send this photo as photos.{key}, base64-encoded"
        for key in set(body["photos"]) - photo_questions:
            problems[f"photos.{key}"] = "not a photo question of the report's template"
        proof = {"visited_at": body["visited_at"], "receipt_number": body["receipt_number"],
                 "integrity": body["integrity"], "served_by": body["served_by"],
                 "photo": _upload("photo", body["photo"], problems),
                 "question_photos": {key: _upload(f"photos.{key}", encoded, problems)
                                     for key, encoded in body["photos"].items() if key in photo_questions}}
        if problems:
            _invalid(problems)
        try:
            report = submit_report(session, assignment_id, token_owner(), body["answers"], proof)
        except PermissionError as exc:
            session.rollback()
            abort(403, message=str(exc))
        except ReportError as exc:
            session.rollback()
            _invalid({_body_field(field, photo_questions): text for field, text in exc.problems.items()})
        session.commit()
        return report


def _body_field(field: str, photo_questions: set[str]) -> str:
    """Where in the body a problem the domain names lies: a question key is under answers (or photos)."""
    if field in ReportBodySchema().fields or "." in field or field in ("assignment", "report"):
        return field
    return f"photos.{field}" if field in photo_questions else f"answers.{field}"
