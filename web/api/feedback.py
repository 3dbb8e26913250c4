"""Feedback items over the API, filtered in SQL: by employee, team, channel, kind, status, days and score.

"Every CSAT answer of agent Y below 3" is ``?employee=Y&kind=csat&max_value=2``; "what arrived since my last
fetch" is ``?received_since=...``.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from core.auth import token_required
from core.ingestion import EARLIEST
from core.local_time import midnight
from core.models import Feedback, still_open
from core.models.feedback import STATUSES

from .access import first_or_404, require_people_reader
from .arguments import Id, PeriodArguments, Slug, day_after
from .listing import QueryListing, listing
from .teams import teams_within

#: As far as a time may go and still be converted to UTC whatever its offset.
LAST_MOMENT = datetime(9998, 12, 31, tzinfo=UTC)

blp = Blueprint("feedback_items", __name__, url_prefix="/api/v1/feedback",
                description="Feedback items as stored: every channel's, attributed or not.")


class FeedbackSchema(Schema):
    id = fields.Integer()
    channel = fields.String()
    kind = fields.String(metadata={"description": "csat, nps, ces, mystery_report, ..."})
    external_id = fields.String(metadata={"description": "the item's id in its source"})
    occurred_at = fields.DateTime()
    received_at = fields.DateTime()
    value = fields.Float(allow_none=True, metadata={"description": "the score, on scale_min to scale_max"})
    scale_min = fields.Float(allow_none=True)
    scale_max = fields.Float(allow_none=True)
    comment = fields.String(allow_none=True)
    ticket_ref = fields.String(allow_none=True)
    employee_id = fields.Integer(allow_none=True, metadata={"description": "null while unattributed"})
    team_id = fields.Integer(allow_none=True, metadata={"description": "the employee's team when it happened"})
    status = fields.String(metadata={"description": ", ".join(STATUSES)})
    attribution_policy = fields.String(allow_none=True)
    attributed_identity = fields.String(allow_none=True)
    still_open = fields.Boolean(metadata={"description": (
        "true for a ticket's timing (first_response_time, resolution_time) stored while the ticket is still open "
        "past its SLA target: value is the minutes it had been open at the last look, not how long it took")})


class FeedbackArguments(PeriodArguments):
    employee = Id(metadata={"description": "only items credited to this employee"})
    team = Id(metadata={"description": "only items of this team or a team below it, as at the time of the item"})
    channel = Slug(metadata={"description": "only items from this channel"})
    kind = Slug(metadata={"description": "only items of this kind (csat, nps, ...)"})
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": "only items in this state"})
    unattributed = fields.Boolean(metadata={"description": "true: only items credited to nobody; false: the others"})
    min_value = fields.Float(metadata={"description": "only items scoring at least this (on the item's scale)"})
    max_value = fields.Float(metadata={"description": "only items scoring at most this"})
    received_since = fields.AwareDateTime(
        default_timezone=UTC, validate=validate.Range(EARLIEST, LAST_MOMENT),
        # A "+" in a query string is a space once decoded: 2026-11-27T07:58:00+13:00 sent as it is arrives
        # broken, and only the zones east of UTC meet it.
        error_messages={"invalid": "Not a valid ISO 8601 time (2026-11-27T07:58:00+13:00): in a URL, write the + "
                                   "of an offset as %2B, or give the time in UTC with Z"}, metadata={
        "description": "only items Plaudit stored at or after this time (ISO 8601; UTC without an offset), "
                       "whenever they happened: to fetch what arrived since the last fetch, give that fetch's "
                       "time less a minute and skip the ids already seen"})

    @validates_schema
    def _range(self, data, **_kwargs):
        if "min_value" in data and "max_value" in data and data["max_value"] < data["min_value"]:
            raise ValidationError("must not be below min_value", field_name="max_value")


_COLUMNS = [*(getattr(Feedback, name) for name in FeedbackSchema().fields if name != "still_open"),
            still_open().label("still_open")]


@blp.route("/")
class FeedbackItems(MethodView):
    decorators = (token_required("feedback:read"),)

    @blp.arguments(FeedbackArguments, location="query")
    @listing(blp, FeedbackSchema, name="feedback")
    def get(self, args):
        """List feedback items, newest first."""
        require_people_reader()
        query = select(*_COLUMNS)
        equal = {"employee": Feedback.employee_id, "channel": Feedback.channel, "kind": Feedback.kind,
                 "status": Feedback.status}
        for name, column in equal.items():
            if name in args:
                query = query.where(column == args[name])
        if "team" in args:
            query = query.where(Feedback.team_id.in_(teams_within(args["team"])))
        if "unattributed" in args:
            query = query.where(Feedback.employee_id.is_(None) if args["unattributed"]
                                else Feedback.employee_id.is_not(None))
        if "first" in args:
            query = query.where(Feedback.occurred_at >= midnight(args["first"]))
        if "last" in args:
            query = query.where(Feedback.occurred_at < day_after(args["last"]))
        if "min_value" in args:
            query = query.where(Feedback.value >= args["min_value"])
        if "max_value" in args:
            query = query.where(Feedback.value <= args["max_value"])
        if "received_since" in args:  # an answer arriving late about last week is new to whoever syncs
            query = query.where(Feedback.received_at >= args["received_since"])
        return QueryListing(query.order_by(Feedback.occurred_at.desc(), Feedback.id.desc()))


@blp.route("/<int:feedback_id>")
class FeedbackById(MethodView):
    decorators = (token_required("feedback:read"),)

    @blp.response(200, FeedbackSchema)
    def get(self, feedback_id):
        """Get one feedback item."""
        require_people_reader()
        return first_or_404(select(*_COLUMNS).where(Feedback.id == feedback_id), feedback_id, "feedback item")
