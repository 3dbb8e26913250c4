"""Guideline versions over the API: the history, each version with its changes, and publishing a new one."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import select

from appraisal.guidelines import guideline_diff, publish_guideline
from appraisal.models import Guideline
from core.auth import token_required
from core.db import get_session
from core.models import User
from core.storable_text import unstorable_text

from .access import token_owner
from .arguments import MAX_ID, ListArguments, Text
from .listing import QueryListing, listing

blp = Blueprint("guideline_versions", __name__, url_prefix="/api/v1/guidelines",
                description="HR's appraisal guideline: every published version, and publishing the next.")


class VersionSchema(Schema):
    version = fields.Integer()
    note = fields.String(allow_none=True, metadata={"description": "what changed and why"})
    created_at = fields.DateTime()
    created_by = fields.Integer(allow_none=True, metadata={"description": "user id of who published it"})
    author = fields.String(allow_none=True, metadata={"description": "their name"})


class ChangeSchema(Schema):
    path = fields.String(metadata={"description": "e.g. metrics[csat_percent].weight"})
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class GuidelineSchema(VersionSchema):
    document = fields.Dict(metadata={"description": "the guideline, every default filled in (docs/appraisal.md)"})
    changes = fields.List(fields.Nested(ChangeSchema),
                          metadata={"description": "what differs from the version before (all of it for v1)"})


class PublishSchema(Schema):
    document = fields.Dict(required=True, metadata={"description": "the guideline (docs/appraisal.md)"})
    note = Text(2000, load_default=None, metadata={"description": "what changed and why, kept in the history"})


def _versions():
    return (select(Guideline.version, Guideline.note, Guideline.created_at, Guideline.created_by,
                   User.name.label("author"))
            .outerjoin(User, User.id == Guideline.created_by))


def _with_changes(version: int | None) -> dict:
    """The version (None: the latest) with its document and its changes from the one before; 404 if none."""
    session = get_session()
    query = _versions().add_columns(Guideline.document)
    query = (query.order_by(Guideline.version.desc()).limit(2) if version is None else
             query.where(Guideline.version.in_([version, version - 1])).order_by(Guideline.version.desc()))
    rows = session.execute(query).all() if version is None or 0 < version <= MAX_ID else []
    if not rows or (version is not None and rows[0].version != version):
        abort(404, message="no guideline is published yet" if version is None else f"no guideline version {version}")
    this, before = rows[0], rows[1] if len(rows) > 1 else None
    return {**this._asdict(), "changes": [
        {"path": path, "before": old, "after": new}
        for path, old, new in guideline_diff(before.document if before else {}, this.document)]}


def _keyed_by_text(messages):
    # marshmallow keys list positions by int; JSON sorts its keys, and cannot sort ints among strings.
    if isinstance(messages, dict):
        return {str(key): _keyed_by_text(value) for key, value in messages.items()}
    return messages


@blp.route("/")
class Versions(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.arguments(ListArguments, location="query")
    @listing(blp, VersionSchema, name="guidelines")
    def get(self, args):
        """List the published versions, newest first."""
        return QueryListing(_versions().order_by(Guideline.version.desc()))


@blp.route("/")
class Publish(MethodView):
    decorators = (token_required("guidelines:write"),)

    @blp.arguments(PublishSchema)
    @blp.response(201, GuidelineSchema, description="published as the next version")
    def post(self, body):
        """Publish a new guideline version (audited); 422 names every field of the document at fault."""
        unstorable = {path: [problem] for path, problem in unstorable_text(body["document"])}
        if unstorable:
            abort(422, message="the document holds text no database can store",
                  errors={"json": {"document": unstorable}})
        session = get_session()
        try:
            guideline = publish_guideline(session, body["document"], actor=token_owner(), note=body["note"])
        except ValidationError as exc:
            session.rollback()
            abort(422, message="nothing published: fix the fields named in errors.json.document",
                  errors={"json": {"document": _keyed_by_text(exc.messages)}})
        session.commit()
        return _with_changes(guideline.version)


@blp.route("/current")
class Current(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.response(200, GuidelineSchema)
    @blp.alt_response(404, response="REFUSED_NOT_FOUND", description="no guideline is published yet")
    def get(self):
        """Get the guideline in force: the latest version."""
        return _with_changes(None)


@blp.route("/<int:version>")
class VersionByNumber(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.response(200, GuidelineSchema)
    def get(self, version):
        """Get one version, with what changed from the one before."""
        return _with_changes(version)
