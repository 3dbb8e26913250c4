"""Channels and feedback ingestion over the API."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core.auth import token_required
from core.db import get_session
from core.ingestion import ingest
from core.plugins import get_plugins

from .access import token_owner

blp = Blueprint("channels", __name__, url_prefix="/api/v1/channels",
                description="Loaded channels, and sending them feedback.")


class ChannelSchema(Schema):
    name = fields.String(metadata={"description": "slug, used in URLs and on every item"})
    title = fields.String()
    kinds = fields.List(fields.String())
    api_ingest = fields.Boolean(metadata={"description": "whether API tokens may send it payloads"})


class StoredSchema(Schema):
    index = fields.Integer(metadata={"description": "position of the payload in the request"})
    external_id = fields.String()
    feedback_id = fields.Integer()
    status = fields.String(metadata={"description": "accepted, quarantined, pending_review or excluded"})
    employee_id = fields.Integer(allow_none=True, metadata={"description": "null while unattributed"})


class RejectedSchema(Schema):
    index = fields.Integer()
    errors = fields.Dict(metadata={"description": "field name -> messages"})


class IngestReportSchema(Schema):
    channel = fields.String()
    created = fields.List(fields.Nested(StoredSchema))
    duplicates = fields.List(fields.Nested(StoredSchema))
    rejected = fields.List(fields.Nested(RejectedSchema))


def _channel_or_404(slug: str):
    try:
        return get_plugins().channel(slug)
    except KeyError as exc:
        abort(404, message=str(exc.args[0]))


def _accepting_channel(slug: str):
    """The channel ``slug``, if API tokens may send it payloads: 404 when there is none, 403 when they may not."""
    channel = _channel_or_404(slug)
    if not channel.api_ingest:
        abort(403, message=f"channel {slug!r} takes no payloads from API tokens: its items come from its own "
                           f"workflow (docs/api.md)")
    return channel


def _body():
    data = request.get_json()  # unreadable JSON: 400 saying why (web.api.JsonRequest)
    if data is None:
        abort(400, message="the body is JSON null: send a payload")
    return data


def _ingest(channel, payloads: list):
    session = get_session()
    report = ingest(session, channel.name, payloads, sender_employee_id=token_owner().employee_id,
                    reserved_ids=channel.reserved_ids(session))
    session.commit()
    # 422 only when something was sent and all of it was refused; an empty batch is a no-op.
    status = 201 if report.created else 422 if report.rejected and not report.duplicates else 200
    # A Response passes flask-smorest by: as_dict has IngestReportSchema's shape already, and dumping a
    # thousand items through the schema again cost more than the rest of the answer.
    return jsonify(report.as_dict()), status


#: A 422 is either: the report of payloads refused, or the refusal of a body that is no payload at all.
_REPORT_OR_ERROR = {"oneOf": [{"$ref": "#/components/schemas/IngestReport"}, {"$ref": "#/components/schemas/Error"}]}
_PAYLOAD_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "one payload in the channel's own format (docs/api.md)"}}}}}
_BATCH_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "array", "items": {"type": "object"},
    # No maxItems: the limit is a setting, and this document is the same on every server.
    "description": "payloads in the channel's own format; at most PLAUDIT_INGEST_BATCH_LIMIT of them (1000 "
                   "by default) and PLAUDIT_MAX_CONTENT_LENGTH bytes in all (2 MiB by default): more is a 413"}}}}}


@blp.route("/")
class Channels(MethodView):
    decorators = (token_required("feedback:read"),)

    @blp.response(200, ChannelSchema(many=True))
    def get(self):
        """List the channels the loaded plugins provide."""
        return sorted(get_plugins().channels.values(), key=lambda c: c.name)


@blp.route("/<string:slug>/feedback")
class ChannelFeedback(MethodView):
    decorators = (token_required("feedback:write"),)

    @blp.doc(**_PAYLOAD_DOC)
    @blp.response(201, IngestReportSchema, description="stored")
    @blp.alt_response(200, schema=IngestReportSchema, description="already stored: a duplicate")
    @blp.alt_response(422, description="rejected: an IngestReport whose `rejected[0].errors` names the fields; "
                                       "or an Error when the body is not one JSON object",
                      content_type="application/json", schema=_REPORT_OR_ERROR)
    def post(self, slug):
        """Send one feedback payload to a channel; a replay answers as the first delivery did."""
        channel = _accepting_channel(slug)
        payload = _body()
        if not isinstance(payload, dict):
            abort(422, message="send one JSON object here" + ("; arrays go to /feedback/batch"
                                                               if isinstance(payload, list) else ""))
        return _ingest(channel, [payload])


@blp.route("/<string:slug>/feedback/batch")
class ChannelFeedbackBatch(MethodView):
    decorators = (token_required("feedback:write"),)

    @blp.doc(**_BATCH_DOC)
    @blp.response(201, IngestReportSchema, description="at least one payload stored")
    @blp.alt_response(200, schema=IngestReportSchema, description="nothing new: duplicates (and perhaps payloads "
                                                                  "rejected), or an empty array")
    @blp.alt_response(422, description="every payload rejected (an IngestReport); or an Error when the body is "
                                       "not a JSON array", schema=_REPORT_OR_ERROR)
    def post(self, slug):
        """Send many payloads to a channel at once; each is created, a duplicate or rejected on its own."""
        channel = _accepting_channel(slug)
        payloads = _body()
        limit = current_app.config["INGEST_BATCH_LIMIT"]
        if not isinstance(payloads, list):
            abort(422, message="send a JSON array of payloads")
        if len(payloads) > limit:
            abort(413, message=f"at most {limit} payloads per batch (PLAUDIT_INGEST_BATCH_LIMIT)")
        return _ingest(channel, payloads)
