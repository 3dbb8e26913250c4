"""Ticket timings become feedback for the assignee at solve; SLA attainment is computed in SQL."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from appraisal.metrics import metric
from core.models import Feedback, Integration

SECRET = "whsec-test-0123456789"


def _deliver(client, integration, ticket_id, first, resolved):
    body = json.dumps({"provider": "ourdesk", "ticket": {
        "id": ticket_id, "status": "solved", "opened_at": "2026-11-20T09:00:00Z", "first_response_at": first,
        "resolved_at": resolved, "assignee": {"provider": "email", "id": "ann@example.com"}}}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post(f"/channels/post_ticket_survey/webhooks/{integration.id}", data=body,
                       headers={"X-Plaudit-Signature": signature, "Content-Type": "application/json"})


@pytest.fixture
def integration(session):
    item = Integration(provider="generic", name="Desk", webhook_secret=SECRET,
                       settings={"survey": {"enabled": False}, "namespace": "ourdesk"})
    session.add(item)
    session.commit()
    return item


def test_first_response_and_resolution_sla_per_agent(app, client, session, integration, create_employee):
    ann = create_employee("Ann", identities=[("email", "ann@example.com")])
    assert _deliver(client, integration, "T-1", "2026-11-20T09:30:00Z", "2026-11-20T12:00:00Z").status_code == 200
    assert _deliver(client, integration, "T-2", "2026-11-20T11:00:00Z", "2026-11-21T12:00:00Z").status_code == 200
    session.expire_all()
    minutes = dict(session.execute(select(Feedback.external_id, Feedback.value)
                                   .where(Feedback.channel == "ticket_metrics")).all())
    assert minutes == {"ourdesk:T-1:first_response_time": 30.0, "ourdesk:T-1:resolution_time": 180.0,
                       "ourdesk:T-2:first_response_time": 120.0, "ourdesk:T-2:resolution_time": 1620.0}
    rules = app.extensions["plaudit.plugins"].scoring_rules
    first = metric(session, rules["first_response_sla"], {"target_minutes": 60})[ann.id]
    resolution = metric(session, rules["resolution_sla"], {})[ann.id]  # default target: 24 hours
    assert (first.value, first.n) == (50.0, 2)
    assert (resolution.value, resolution.n) == (50.0, 2)
    assert metric(session, rules["first_response_sla"], {"target_minutes": 120})[ann.id].value == 100.0
    session.rollback()

    again = _deliver(client, integration, "T-1", "2026-11-20T09:30:00Z", "2026-11-20T12:00:00Z")
    assert again.status_code == 200  # a replayed delivery adds no second timing
    assert len(session.scalars(select(Feedback).where(Feedback.channel == "ticket_metrics")).all()) == 4


def test_a_corrected_timing_revises_the_sla_item(app, client, session, integration, create_employee):
    ann = create_employee("Ann", identities=[("email", "ann@example.com")])
    _deliver(client, integration, "T-1", "2026-11-20T09:30:00Z", "2026-11-21T12:00:00Z")  # 27 h: late
    _deliver(client, integration, "T-1", "2026-11-20T09:30:00Z", "2026-11-20T12:00:00Z")  # corrected: 3 h
    session.expire_all()
    rules = app.extensions["plaudit.plugins"].scoring_rules
    resolution = metric(session, rules["resolution_sla"], {})[ann.id]
    assert (resolution.value, resolution.n) == (100.0, 1)
