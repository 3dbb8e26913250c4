"""Targets over the API: list them, and set one within the bounds HR's guideline allows."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validates_schema
from sqlalchemy import select

from appraisal.guidelines import GuidelineError
from appraisal.models import Target
from appraisal.periods import days_of, period_between
from appraisal.targets import TargetError, set_target, target_for, value_problems
from core.auth import token_required
from core.db import get_session
from core.local_time import midnight
from core.models import Employee, Team

from .access import require_people_reader, token_owner
from .arguments import Id, PeriodArguments, PeriodDay, Slug, day_after
from .listing import QueryListing, listing
from .teams import teams_within

blp = Blueprint("targets", __name__, url_prefix="/api/v1/targets",
                description="Targets for a metric over a period, for one employee or a whole team.")


class TargetSchema(Schema):
    id = fields.Integer()
    metric = fields.String(metadata={"description": "a scoring rule of the guideline, e.g. csat_percent"})
    value = fields.Float()
    first = fields.Date(data_key="from", metadata={"description": "first day it applies"})
    last = fields.Date(data_key="to", metadata={"description": "last day it applies, included"})
    employee_id = fields.Integer(allow_none=True, metadata={"description": "set for one employee, or null"})
    employee = fields.String(allow_none=True)
    team_id = fields.Integer(allow_none=True, metadata={"description": "set for a whole team, or null"})
    team = fields.String(allow_none=True)
    set_by = fields.Integer(allow_none=True, metadata={"description": "user id of who set it last"})
    updated_at = fields.DateTime()


class TargetArguments(PeriodArguments):
    employee = Id(metadata={"description": "only targets set for this employee"})
    team = Id(metadata={"description": "only targets set for this team or a team below it"})
    metric = Slug()


class SetTargetSchema(Schema):
    metric = Slug(required=True)
    value = fields.Float(required=True)
    first = PeriodDay(data_key="from", required=True, metadata={"description": "first day it applies"})
    last = PeriodDay(data_key="to", required=True, metadata={"description": "last day it applies, included"})
    # null is the same as leaving it out, as a target read back has the other one null
    employee = Id(allow_none=True, metadata={"description": "the employee it is for (give this or team)"})
    team = Id(allow_none=True, metadata={"description": "the team it is for (give this or employee)"})

    @validates_schema
    def _checked(self, data, **_kwargs):
        if (data.get("employee") is None) == (data.get("team") is None):
            raise ValidationError("give either employee or team", field_name="employee")
        if data["last"] < data["first"]:
            raise ValidationError("must not be before 'from'", field_name="to")


def _targets():
    return (select(Target.id, Target.metric, Target.value, Target.period_start, Target.period_end,
                   Target.employee_id, Employee.name.label("employee"), Target.team_id, Team.name.label("team"),
                   Target.set_by, Target.updated_at)
            .outerjoin(Employee, Employee.id == Target.employee_id)
            .outerjoin(Team, Team.id == Target.team_id))


def _item(row) -> dict:
    first, last = days_of(row.period_start, row.period_end)
    return {**row._asdict(), "first": first, "last": last}


def _invalid(field: str, message: str):
    abort(422, message=f"{field}: {message}", errors={"json": {field: [message]}})


@blp.route("/")
class Targets(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.arguments(TargetArguments, location="query")
    @listing(blp, TargetSchema, name="targets")
    def get(self, args):
        """List targets, latest period first; from/to keep the targets whose period overlaps those days."""
        require_people_reader()
        query = _targets()
        if "employee" in args:
            query = query.where(Target.employee_id == args["employee"])
        if "team" in args:
            query = query.where(Target.team_id.in_(teams_within(args["team"])))
        if "metric" in args:
            query = query.where(Target.metric == args["metric"])
        if "first" in args:
            query = query.where(Target.period_end > midnight(args["first"]))
        if "last" in args:
            query = query.where(Target.period_start < day_after(args["last"]))
        return QueryListing(query.order_by(Target.period_start.desc(), Target.metric, Target.id), _item)


@blp.route("/")
class SetTarget(MethodView):
    decorators = (token_required("targets:write"),)

    @blp.arguments(SetTargetSchema)
    @blp.response(201, TargetSchema, description="a new target set")
    @blp.alt_response(200, schema=TargetSchema, description="the target for the same subject, metric and period "
                                                            "changed")
    def post(self, body):
        """Set a target for an employee or a team (audited); 422 names the field HR's bounds refuse."""
        require_people_reader()  # before any lookup, so a refused token learns nothing of who exists
        session = get_session()
        # Every field at fault at once: the subject, the period, the metric and the value.
        employee = team = None
        problems: dict[str, str] = {}
        if body.get("employee") is not None:
            employee = session.get(Employee, body["employee"])
            if employee is None:
                problems["employee"] = f"no employee {body['employee']}"
        else:
            team = session.get(Team, body["team"])
            if team is None:
                problems["team"] = f"no team {body['team']}"
        try:
            period = period_between(body["first"], body["last"])
        except ValueError as exc:
            problems["to"] = str(exc)
        try:
            problems.update(value_problems(session, body["metric"], body["value"]))
        except GuidelineError as exc:  # no guideline, and none to start from: no loaded scoring rule
            problems["metric"] = str(exc)
        if problems:
            abort(422, message="; ".join(f"{field}: {text}" for field, text in problems.items()),
                  errors={"json": {field: [text] for field, text in problems.items()}})
        # A change of the one already set is a 200, not a 201: nothing was created.
        changed = target_for(session, body["metric"], period, employee=employee, team=team) is not None
        try:
            target = set_target(session, token_owner(), metric=body["metric"], period=period, value=body["value"],
                                employee=employee, team=team)
        except TargetError as exc:
            session.rollback()
            _invalid("employee" if exc.field == "subject" else exc.field, exc.message)
        except PermissionError as exc:
            session.rollback()
            abort(403, message=str(exc))
        session.commit()
        return _item(session.execute(_targets().where(Target.id == target.id)).one()), 200 if changed else 201
