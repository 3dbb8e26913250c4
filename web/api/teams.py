"""Teams over the API: the tree, each team's lead and how many active employees it holds."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.auth import token_required
from core.models import Employee, Team

from .access import first_or_404, require_people_reader
from .arguments import Id, ListArguments
from .listing import QueryListing, listing

blp = Blueprint("teams", __name__, url_prefix="/api/v1/teams", description="Teams: the tree and who leads each.")


def teams_within(team_id: int):
    """A SELECT of the team ``team_id`` and the ids of every team below it (one recursive query)."""
    tree = select(Team.id).where(Team.id == team_id).cte("within", recursive=True)
    tree = tree.union(select(Team.id).where(Team.parent_id == tree.c.id))
    return select(tree.c.id)


class TeamSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    parent_id = fields.Integer(allow_none=True, metadata={"description": "null for a team at the top"})
    manager_id = fields.Integer(allow_none=True, metadata={"description": "the employee who leads it"})
    manager = fields.String(allow_none=True, metadata={"description": "the lead's name"})
    members = fields.Integer(metadata={"description": "active employees in this team (not in teams below)"})


class TeamArguments(ListArguments):
    parent = Id(metadata={"description": "only the teams directly below this team"})


def _teams():
    lead = aliased(Employee)
    members = (select(Employee.team_id, func.count().label("members")).where(Employee.active)
               .group_by(Employee.team_id).subquery())
    return (select(Team.id, Team.name, Team.slug, Team.parent_id, Team.manager_id,
                   lead.name.label("manager"), func.coalesce(members.c.members, 0).label("members"))
            .outerjoin(lead, lead.id == Team.manager_id)
            .outerjoin(members, members.c.team_id == Team.id))


@blp.route("/")
class Teams(MethodView):
    decorators = (token_required("org:read"),)

    @blp.arguments(TeamArguments, location="query")
    @listing(blp, TeamSchema, name="teams")
    def get(self, args):
        """List teams by name."""
        require_people_reader()
        query = _teams()
        if "parent" in args:
            query = query.where(Team.parent_id == args["parent"])
        return QueryListing(query.order_by(Team.name, Team.id))


@blp.route("/<int:team_id>")
class TeamById(MethodView):
    decorators = (token_required("org:read"),)

    @blp.response(200, TeamSchema)
    def get(self, team_id):
        """Get one team."""
        require_people_reader()
        return first_or_404(_teams().where(Team.id == team_id), team_id, "team")
