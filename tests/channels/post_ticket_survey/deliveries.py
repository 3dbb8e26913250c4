"""Deliveries of the generic helpdesk format, signed, for the invitation tests: a ticket solved recently."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from core.models import Integration, utcnow

SECRET = "whsec-test-0123456789"
#: When the tickets below were solved: recently, as invitations are made only for recent solves.
SOLVED = (utcnow() - timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)


def at(hours: float) -> str:
    """A time ``hours`` after the solve, as a helpdesk writes it."""
    return (SOLVED + timedelta(hours=hours)).isoformat()


def solved_ticket_delivery(ticket_id="T-1", requester="customer@example.com"):
    return {"provider": "ourdesk", "ticket": {
        "id": ticket_id, "subject": "Printer on fire", "status": "solved", "opened_at": at(-2),
        "first_response_at": at(-110 / 60), "resolved_at": at(0),
        "assignee": {"provider": "email", "id": "ann@example.com"}, "requester_email": requester}}


def solved_on(ticket_id: str, solved) -> dict:
    """A delivery of ticket ``ticket_id`` solved at ``solved`` (opened an hour before, no reply timed)."""
    delivery = solved_ticket_delivery(ticket_id)
    delivery["ticket"].update(opened_at=(solved - timedelta(hours=1)).isoformat(), first_response_at=None,
                              resolved_at=solved.isoformat())
    return delivery


def post(client, integration, body):
    """POST ``body`` to ``integration``'s webhook, signed with :data:`SECRET`."""
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(f"/channels/post_ticket_survey/webhooks/{integration.id}", data=raw,
                       headers={"X-Plaudit-Signature": signature, "Content-Type": "application/json"})


def generic_integration(session, **survey) -> Integration:
    """A generic integration (namespace ``ourdesk``) signing with :data:`SECRET`, with these survey settings."""
    integration = Integration(provider="generic", name="Desk", webhook_secret=SECRET,
                              settings={"namespace": "ourdesk", "survey": survey})
    session.add(integration)
    session.commit()
    return integration
