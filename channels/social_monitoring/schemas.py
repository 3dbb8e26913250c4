"""One social post, as every source (feed, push, file import) hands it to the channel."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class SocialPostSchema(Schema):
    """A public post: who wrote it and when, what it says, what it answers and which handles it names."""

    class Meta:
        unknown = EXCLUDE

    source = fields.String(required=True, validate=validate.Length(min=1, max=80))
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=160))
    posted_at = fields.AwareDateTime(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    author = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    in_reply_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=160))
    url = fields.Url(load_default=None, allow_none=True)
    handles = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    brand_reply = fields.Boolean(load_default=False)
