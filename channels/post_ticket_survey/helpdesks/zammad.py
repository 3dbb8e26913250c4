"""Zammad: trigger webhooks (ticket and article) and ticket lists.

Zammad signs with the webhook's HMAC SHA1 signature token: ``X-Hub-Signature: sha1=<hex>`` over the body.
Owner 1 is Zammad's placeholder for "nobody".
"""
from __future__ import annotations

import hashlib

from core.channel import IdentityRef
from core.tickets import TicketUpdate

from .base import (
    Delivery,
    Helpdesk,
    PayloadError,
    code,
    hmac_digest,
    parse_each,
    required,
    same,
    section,
    timestamp,
)

NOBODY = 1
CLOSED = {"closed", "merged", "removed"}
#: Zammad's default ticket states by id: a ticket list gives only ``state_id``. A state an instance added
#: keeps its number, which counts as neither open nor solved.
STATE_NAMES = {1: "new", 2: "open", 3: "pending reminder", 4: "closed", 5: "merged", 6: "removed",
               7: "pending close"}


class Zammad(Helpdesk):
    provider = "zammad"
    title = "Zammad"
    scheme = "X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>"
    #: Not "merged" or "removed": those end a ticket without solving it.
    solved_statuses = frozenset({"closed"})

    def verify(self, headers, query, body, secret):
        return same("sha1=" + hmac_digest(secret, body, hashlib.sha1).hex(), headers.get("X-Hub-Signature"))

    def parse(self, data, received_at):
        if isinstance(data, list):
            return parse_each(self.parse, data, received_at)
        if not isinstance(data, dict):
            raise PayloadError("body", "expected a JSON object or array")
        if "ticket" in data:
            return _ticket(section(data, "ticket", "ticket"), section(data, "article", "article"))
        if "number" in data and "id" in data:
            return _ticket(data, None)
        raise PayloadError("body", "not a Zammad ticket")


def _ticket(ticket, article) -> Delivery:
    ticket_id = required(ticket, "id", "ticket")
    state = code(ticket.get("state") or _state_name(ticket.get("state_id")), "ticket.state")
    update = TicketUpdate(provider="zammad", external_id=str(ticket_id), subject=ticket.get("title"),
                          status=str(state) if state is not None else None,
                          opened_at=timestamp(ticket.get("created_at"), "ticket.created_at"),
                          first_response_at=timestamp(ticket.get("first_response_at"), "ticket.first_response_at"),
                          resolved_at=timestamp(ticket.get("close_at"), "ticket.close_at"))
    group = ticket.get("group")
    update.category = group.get("name") if isinstance(group, dict) else group
    owner = ticket.get("owner_id") or section(ticket, "owner", "ticket.owner").get("id")
    if owner and owner != NOBODY:
        update.assignee = IdentityRef("zammad", str(owner))
        update.assigned_at = timestamp(ticket.get("last_owner_update_at"), "ticket.last_owner_update_at")
    if update.resolved_at is None and state in CLOSED:
        update.resolved_at = timestamp(ticket.get("updated_at") or ticket.get("last_contact_at"), "ticket.updated_at")
    if article and article.get("sender") == "Agent" and not article.get("internal"):
        update.first_response_at = update.public_reply_at = timestamp(article.get("created_at"), "article.created_at")
        author = article.get("created_by_id") or article.get("origin_by_id")
        update.public_replier = IdentityRef("zammad", str(author)) if author else None
    return Delivery(tickets=[update])


def _state_name(state_id):
    """The default state a ``state_id`` names (4 and "4": closed), else the id as it came."""
    number = int(state_id) if isinstance(state_id, str) and state_id.isdigit() else state_id
    return STATE_NAMES.get(number, state_id) if isinstance(number, int) and not isinstance(number, bool) else state_id
