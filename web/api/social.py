"""Social sources over the API: where posts come from and how their polling goes (never a push secret)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.sources import public_error, public_url, stored_count
from core.auth import token_required

from .arguments import ListArguments
from .listing import QueryListing, listing

blp = Blueprint("social_sources", __name__, url_prefix="/api/v1/social",
                description="Social monitoring: the sources posts come from, and their polling state.")


class SocialSourceSchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "the `source` of the posts it brings"})
    kind = fields.String(metadata={"description": "rss, push, or a client plugin's kind"})
    url = fields.String(allow_none=True, metadata={
        "description": "what is polled, without the user name, password or query string it may carry (a feed's "
                       "key); null for a push source"})
    keywords = fields.List(fields.String(), metadata={"description": "watched words"})
    handles = fields.List(fields.String(), metadata={"description": "watched handles, the brand's own"})
    active = fields.Boolean()
    failures = fields.Integer(metadata={"description": "failed polls in a row"})
    last_polled_at = fields.AwareDateTime(allow_none=True)
    last_success_at = fields.AwareDateTime(allow_none=True)
    next_poll_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True, metadata={
        "description": "why the last poll failed; the address in it is shown as `url` is"})
    stored = fields.Integer(metadata={"description": "items this source has stored"})


@blp.route("/sources/")  # a list: its path ends in / as every list's does (without it, a 308)
class Sources(MethodView):
    # Sources describe no one: any token holding the scope reads them, so an address's key is never shown.
    decorators = (token_required("org:read"),)

    @blp.arguments(ListArguments, location="query")
    @listing(blp, SocialSourceSchema, name="social_sources")
    def get(self, args):
        """List the social sources by name, with their polling state and how many items each stored."""
        columns = [getattr(SocialSource, name) for name in (
            "id", "name", "kind", "url", "keywords", "handles", "active", "failures", "last_polled_at",
            "last_success_at", "next_poll_at", "last_error")]
        return QueryListing(select(*columns, stored_count().label("stored"))
                            .order_by(SocialSource.name, SocialSource.id), _without_keys)


def _without_keys(row) -> dict:
    item = dict(row._mapping)
    item["url"], item["last_error"] = public_url(row.url), public_error(row.last_error, row.url)
    return item
