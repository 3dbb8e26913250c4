"""Recommendations over the API: what runs propose for each employee, and HR's decision on them."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, select

from appraisal.models import RECOMMENDATION_STATUSES, AppraisalResult, Recommendation
from appraisal.review import DecisionError, decide_recommendation
from core.auth import token_required
from core.db import get_session
from core.models import Employee

from .access import first_or_404, require_people_reader, token_owner
from .arguments import MAX_ID, Flag, Id, ListArguments, Text
from .listing import QueryListing, listing
from .teams import teams_within

blp = Blueprint("recommendations", __name__, url_prefix="/api/v1/recommendations",
                description="Bonuses, recognition, coaching and training proposed by runs, and decisions on them.")

KINDS = ("bonus", "recognition", "coaching", "training")


class RecommendationSchema(Schema):
    id = fields.Integer()
    run_id = fields.Integer()
    employee_id = fields.Integer()
    employee = fields.String()
    team_id = fields.Integer(allow_none=True, metadata={"description": "the employee's team in the run"})
    kind = fields.String(metadata={"description": ", ".join(KINDS)})
    source = fields.String(metadata={"description": "the guideline tier, plugin or rule that proposed it"})
    amount = fields.Float(allow_none=True, metadata={"description": "a bonus's amount after the budget cap"})
    requested_amount = fields.Float(allow_none=True, metadata={"description": "the amount before the cap"})
    reason = fields.String()
    status = fields.String(metadata={"description": ", ".join(RECOMMENDATION_STATUSES)})
    needs_approval = fields.Boolean()
    decided_by = fields.Integer(allow_none=True, metadata={"description": "user id of who decided it"})
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class RecommendationArguments(ListArguments):
    run = Id(metadata={"description": "only this run's"})
    status = fields.String(validate=validate.OneOf(RECOMMENDATION_STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    employee = Id(metadata={"description": "only this employee's"})
    team = Id(metadata={"description": "only for employees in this team, or a team below it, in the run"})


class DecisionSchema(Schema):
    approve = Flag(required=True, metadata={"description": "true approves, false rejects"})
    note = Text(2000, load_default=None, metadata={"description": "why, kept with the decision and in the audit"})


def _recommendations():
    return (select(Recommendation.id, Recommendation.run_id, Recommendation.employee_id,
                   Employee.name.label("employee"), AppraisalResult.team_id, Recommendation.kind,
                   Recommendation.source, Recommendation.amount, Recommendation.requested_amount,
                   Recommendation.reason, Recommendation.status, Recommendation.needs_approval,
                   Recommendation.decided_by, Recommendation.decided_at, Recommendation.decision_note)
            .join(Employee, Employee.id == Recommendation.employee_id)
            .outerjoin(AppraisalResult, and_(AppraisalResult.run_id == Recommendation.run_id,
                                             AppraisalResult.employee_id == Recommendation.employee_id)))


def _one(recommendation_id: int):
    return first_or_404(_recommendations().where(Recommendation.id == recommendation_id), recommendation_id,
                        "recommendation")


@blp.route("/")
class Recommendations(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.arguments(RecommendationArguments, location="query")
    @listing(blp, RecommendationSchema, name="recommendations")
    def get(self, args):
        """List recommendations, newest run first."""
        require_people_reader()
        query = _recommendations()
        equal = {"run": Recommendation.run_id, "status": Recommendation.status, "kind": Recommendation.kind,
                 "employee": Recommendation.employee_id}
        for name, column in equal.items():
            if name in args:
                query = query.where(column == args[name])
        if "team" in args:
            query = query.where(AppraisalResult.team_id.in_(teams_within(args["team"])))
        return QueryListing(query.order_by(Recommendation.run_id.desc(), Recommendation.id))


@blp.route("/<int:recommendation_id>")
class RecommendationById(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.response(200, RecommendationSchema)
    def get(self, recommendation_id):
        """Get one recommendation."""
        require_people_reader()
        return _one(recommendation_id)


@blp.route("/<int:recommendation_id>/decision")
class Decision(MethodView):
    decorators = (token_required("review:write"),)

    @blp.arguments(DecisionSchema)
    @blp.response(200, RecommendationSchema, description="decided")
    @blp.alt_response(409, response="CONFLICT", description="already decided")
    def post(self, body, recommendation_id):
        """Approve or reject a proposed recommendation (audited)."""
        require_people_reader()
        if recommendation_id > MAX_ID:
            abort(404, message=f"no recommendation {recommendation_id}")
        session = get_session()
        try:
            decide_recommendation(session, recommendation_id, token_owner(), approve=body["approve"],
                                  note=body["note"])
        except LookupError as exc:
            session.rollback()
            abort(404, message=str(exc))
        except PermissionError as exc:
            session.rollback()
            abort(403, message=str(exc))
        except DecisionError as exc:
            session.rollback()
            abort(409, message=str(exc))
        session.commit()
        return _one(recommendation_id)
