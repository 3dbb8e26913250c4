"""One social post, as every source (feed, push, file import) hands it to the channel."""
from __future__ import annotations

from datetime import timedelta

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates

from core.models import utcnow

#: How far ahead of our clock a post's time may be: a source's clock may run a little fast, no more.
CLOCK_SKEW = timedelta(minutes=5)


class SocialPostSchema(Schema):
    """A public post: who wrote it and when, what it says, what it answers, which handles and ticket it names."""

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
    #: The helpdesk ticket the post is about, "provider:id" (as ``zendesk:12345``), when the source knows it.
    ticket_ref = fields.String(load_default=None, allow_none=True, validate=[
        validate.Length(max=255),
        validate.Regexp(r"^[a-z][a-z0-9_]*:\S+$", error="must be provider:id, as zendesk:12345")])
    #: The helpdesk a "ticket #12345" or "case 12345" in the text refers to; without it the text is not read.
    ticket_provider = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Regexp(r"^[a-z][a-z0-9_]*$",
                                                             error="must be a helpdesk slug, as zendesk"))

    @validates("posted_at")
    def _not_in_the_future(self, value, **_):
        # A post dated ahead would sit at the top of every "newest first" list and in a period not yet run.
        if value > utcnow() + CLOCK_SKEW:
            raise ValidationError(f"is in the future ({value.isoformat()}); give when the post was written")
