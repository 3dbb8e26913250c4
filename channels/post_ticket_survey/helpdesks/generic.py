"""The generic format, for helpdesks without an adapter: one ticket, and the ratings collected for it.

Signed like GitHub's webhooks: ``X-Plaudit-Signature: sha256=<hex HMAC-SHA256 of the body>``.
"""
from __future__ import annotations

import hashlib

from marshmallow import Schema, ValidationError, fields, validate

from core.channel import IdentityRef
from core.tickets import TicketUpdate

from ..schemas import AgentSchema
from .base import Delivery, Helpdesk, PayloadError, hmac_digest, same


class TicketSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    subject = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    opened_at = fields.AwareDateTime(allow_none=True)
    first_response_at = fields.AwareDateTime(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    assignee = fields.Nested(AgentSchema, allow_none=True)
    requester_email = fields.Email(allow_none=True, metadata={"description": "who to invite to the survey"})


class DeliverySchema(Schema):
    provider = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$"))
    ticket = fields.Nested(TicketSchema)
    ratings = fields.List(fields.Dict(), load_default=list)


class Generic(Helpdesk):
    provider = "generic"
    title = "Generic JSON"
    scheme = "X-Plaudit-Signature: sha256=<hex HMAC-SHA256 of the body>"
    #: The generic format's words for a solved ticket (docs/surveys.md); no status at all leaves it to
    #: ``resolved_at``.
    solved_statuses = frozenset({"solved", "resolved", "closed"})

    def verify(self, headers, query, body, secret):
        return same("sha256=" + hmac_digest(secret, body, hashlib.sha256).hex(), headers.get("X-Plaudit-Signature"))

    def parse(self, data, received_at):
        try:
            loaded = DeliverySchema().load(data)
        except ValidationError as exc:
            field_name, messages = next(iter(exc.messages.items())) if isinstance(exc.messages, dict) \
                else ("body", exc.messages)
            raise PayloadError(str(field_name), str(messages)) from None
        delivery = Delivery(ratings=list(loaded["ratings"]))
        ticket = loaded.get("ticket")
        if ticket:
            update = TicketUpdate(provider=loaded["provider"] or "", external_id=ticket["id"], subject=ticket.get("subject"),
                                  category=ticket.get("category"), contact_channel=ticket.get("channel"),
                                  status=ticket.get("status"), opened_at=ticket.get("opened_at"),
                                  first_response_at=ticket.get("first_response_at"),
                                  resolved_at=ticket.get("resolved_at"),
                                  requester_email=ticket.get("requester_email"))
            if ticket.get("assignee"):
                update.assignee = IdentityRef(ticket["assignee"]["provider"], ticket["assignee"]["id"])
            delivery.tickets.append(update)
        return delivery
