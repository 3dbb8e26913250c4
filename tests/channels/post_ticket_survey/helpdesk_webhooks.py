"""Helpdesk webhooks as the helpdesks send them: signed their way, with the real payloads of ../shared/data."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.models import Integration, Ticket, utcnow

SECRET = "whsec-test-0123456789"


@pytest.fixture
def integration(session):
    def make(provider: str) -> Integration:
        item = Integration(provider=provider, name=f"{provider} test", webhook_secret=SECRET,
                           settings={"namespace": "ourdesk"} if provider == "generic" else {})
        session.add(item)
        session.commit()
        return item
    return make


def signed(provider: str, body: bytes, secret: str = SECRET) -> tuple[dict, str]:
    """Headers and query string as each helpdesk would send them."""
    if provider == "zendesk":
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = base64.b64encode(hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest())
        return {"X-Zendesk-Webhook-Signature": signature.decode(),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp}, ""
    if provider == "zammad":
        return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}, ""
    if provider == "helpscout":
        digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
        return {"X-HelpScout-Signature": base64.b64encode(digest).decode()}, ""
    if provider == "generic":
        return {"X-Plaudit-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}, ""
    if provider == "freshdesk":
        return {"X-Plaudit-Token": secret}, ""
    return {}, f"?token={secret}"  # chatwoot: the secret in the URL


@pytest.fixture
def deliver(client, integration):
    made = {}

    def send(provider: str, body, secret: str = SECRET):
        if provider not in made:
            made[provider] = integration(provider)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers, query = signed(provider, raw, secret)
        return client.post(f"/channels/post_ticket_survey/webhooks/{made[provider].id}{query}", data=raw,
                           headers={**headers, "Content-Type": "application/json"})
    return send


def payload(shared_data, name: str) -> bytes:
    return (shared_data / "payloads" / name).read_bytes()


def stored_ticket(session, provider, external_id) -> Ticket:
    session.expire_all()
    return session.scalar(select(Ticket).where(Ticket.provider == provider, Ticket.external_id == str(external_id)))


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_UNIX_KEYS = {"created_at", "updated_at", "timestamp"}


def shifted(data, delta: timedelta, key: str | None = None):
    """A payload as if it had happened ``delta`` later: every timestamp moves alike, so its timings agree."""
    if isinstance(data, dict):
        return {k: shifted(v, delta, k) for k, v in data.items()}
    if isinstance(data, list):
        return [shifted(item, delta, key) for item in data]
    if isinstance(data, str) and _ISO.match(data):
        return (datetime.fromisoformat(data) + delta).isoformat()
    if key in _UNIX_KEYS and isinstance(data, int) and not isinstance(data, bool) and data > 10 ** 9:
        return data + int(delta.total_seconds())
    return data


def recent(shared_data, name: str, solved_at: datetime, **changes) -> dict:
    """The payload ``name`` as if it had been solved (at ``solved_at``) a day ago, with ``changes``."""
    data = shifted(json.loads(payload(shared_data, name)), utcnow() - timedelta(days=1) - solved_at)
    return {**data, **changes}
