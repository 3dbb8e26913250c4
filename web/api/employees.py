"""Employees over the API: who they are and which team they are in."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from core.auth import token_required
from core.models import Employee, Team

from .access import first_or_404, require_people_reader
from .arguments import Id, ListArguments
from .listing import QueryListing, listing
from .teams import teams_within

blp = Blueprint("employees", __name__, url_prefix="/api/v1/employees",
                description="Employees, and the team each is in.")


class EmployeeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String(allow_none=True)
    active = fields.Boolean()
    started_on = fields.Date(allow_none=True, metadata={"description": "the day they joined, when known"})
    left_on = fields.Date(allow_none=True, metadata={"description": "the day they left, for an inactive employee "
                                                                    "deactivated with one"})
    team_id = fields.Integer(allow_none=True)
    team = fields.String(allow_none=True, metadata={"description": "the team's name"})


class EmployeeArguments(ListArguments):
    team = Id(metadata={"description": "only employees of this team or of a team below it"})
    active = fields.Boolean(metadata={"description": "only active (true) or inactive (false) employees"})


def _employees():
    return (select(Employee.id, Employee.name, Employee.email, Employee.active, Employee.started_on,
                   Employee.left_on, Employee.team_id, Team.name.label("team"))
            .outerjoin(Team, Team.id == Employee.team_id))


@blp.route("/")
class Employees(MethodView):
    decorators = (token_required("org:read"),)

    @blp.arguments(EmployeeArguments, location="query")
    @listing(blp, EmployeeSchema, name="employees")
    def get(self, args):
        """List employees by name."""
        require_people_reader()
        query = _employees()
        if "team" in args:
            query = query.where(Employee.team_id.in_(teams_within(args["team"])))
        if "active" in args:
            query = query.where(Employee.active.is_(args["active"]))
        return QueryListing(query.order_by(Employee.name, Employee.id))


@blp.route("/<int:employee_id>")
class EmployeeById(MethodView):
    decorators = (token_required("org:read"),)

    @blp.response(200, EmployeeSchema)
    def get(self, employee_id):
        """Get one employee."""
        require_people_reader()
        return first_or_404(_employees().where(Employee.id == employee_id), employee_id, "employee")
