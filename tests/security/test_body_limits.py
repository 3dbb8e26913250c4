"""Oversized bodies: every POST entry point (API, webhooks, push, forms) refuses them with 413, unread."""
from __future__ import annotations

import io
import json

from sqlalchemy import select

from core import request_limits
from core.auth import API_SCOPES
from core.db import transaction
from core.models import ApiToken, User
from tests.fixtures.app import row_counts
from tests.fixtures.org import sign_in
from tests.fixtures.routes import Route

LIMIT = 4096
#: What gunicorn and the development server say of a body sent in chunks: they end its stream themselves.
SERVED = {"wsgi.input_terminated": True}
IDS = {name: (lambda: 1) for name in ("integration_id", "assignment_id", "report_id", "template_id", "source_id",
                                      "feedback_id", "recommendation_id", "job_id", "employee_id", "token_id",
                                      "user_id")}
VALUES = {**IDS, "token": lambda: "x" * 20, "name": lambda: "acme", "slug": lambda: "post_ticket_survey"}


def _every_post(app) -> list[Route]:
    return sorted((Route(rule.endpoint, rule.rule, frozenset(rule.methods))
                   for rule in app.url_map.iter_rules() if "POST" in rule.methods), key=lambda route: route.rule)


def test_every_post_refuses_a_body_over_the_limit(make_app, create_user):
    app = make_app(MAX_CONTENT_LENGTH=LIMIT)
    client = app.test_client()
    create_user("all@example.com", roles=["admin", "hr", "manager", "employee", "shopper"])
    assert sign_in(client, "all@example.com").status_code == 302
    with app.app_context(), transaction() as session:
        row, plain = ApiToken.issue(session.scalar(select(User)), "limits", list(API_SCOPES))
        session.add(row)
    # The views allowed more (a mystery report's camera photos) are held to their own limit, made small here.
    larger = app.extensions[request_limits.KEY]
    assert set(larger) == {"mystery_shopper.report_form"}
    larger.update({endpoint: (2 * LIMIT, roles) for endpoint, (_limit, roles) in larger.items()})
    before = row_counts(app)
    answers = {}
    for route in _every_post(app):
        size = larger[route.endpoint][0] if route.endpoint in larger else LIMIT
        json_body = json.dumps({"comment": "x" * size}).encode()
        form_body = b"comment=" + b"x" * size
        machine = route.rule.startswith("/api/") or route.endpoint in ("post_ticket_survey.webhook", "social.push")
        response = client.post(route.url(VALUES), data=json_body if machine else form_body,
                               headers={"Authorization": f"Bearer {plain}"},
                               content_type="application/json" if machine else "application/x-www-form-urlencoded")
        answers[route.endpoint] = response.status_code
    assert {endpoint for endpoint, status in answers.items() if status != 413} == set(), answers
    assert len(answers) >= 35  # API operations, webhooks, push and every form of today
    assert row_counts(app) == before


def test_machines_read_the_refusal_as_json(make_app, create_user):
    app = make_app(MAX_CONTENT_LENGTH=LIMIT)
    client = app.test_client()
    create_user("api@example.com", roles=["admin"])
    with app.app_context(), transaction() as session:  # the API authenticates before it reads the body
        row, plain = ApiToken.issue(session.scalar(select(User)), "limits", list(API_SCOPES))
        session.add(row)
    for url in ("/api/v1/channels/post_ticket_survey/feedback", "/channels/social_monitoring/push/acme",
                "/channels/post_ticket_survey/webhooks/1"):
        response = client.post(url, data=b"{" + b" " * LIMIT + b"}", content_type="application/json",
                               headers={"Authorization": f"Bearer {plain}"})
        answer = response.get_json(silent=True) or {}
        assert response.status_code == 413 and answer.get("code") == 413, url
        assert answer["message"] == (f"the body ({LIMIT + 2:,} bytes) is over the {LIMIT:,} bytes taken here "
                                     f"(PLAUDIT_MAX_CONTENT_LENGTH)"), url
        # Sent in chunks, with no length: Werkzeug cut it at the limit without a word, and the cut body was
        # answered 400 "not valid JSON" (or 422), which a sender retries for ever.
        chunked = client.post(url, input_stream=io.BytesIO(b"[" + b" " * LIMIT + b"]"), environ_overrides=SERVED,
                              headers={"Authorization": f"Bearer {plain}", "Content-Type": "application/json",
                                       "Transfer-Encoding": "chunked"})
        assert chunked.status_code == 413, (url, chunked.get_data(as_text=True))
        assert "sent in chunks, reached the limit" in chunked.get_json()["message"], url
    small = client.post("/api/v1/channels/post_ticket_survey/feedback/batch", input_stream=io.BytesIO(b"[]"),
                        environ_overrides=SERVED, headers={"Authorization": f"Bearer {plain}", "Content-Type": "application/json",
                                 "Transfer-Encoding": "chunked"})
    assert small.status_code == 200, small.get_data(as_text=True)  # read whole, and kept for the view


def test_a_body_within_the_limit_is_read(make_app):
    app = make_app(MAX_CONTENT_LENGTH=LIMIT)
    response = app.test_client().post("/channels/post_ticket_survey/webhooks/1", data=b"{}",
                                      content_type="application/json")
    assert response.status_code == 404  # past the size check: there is no integration 1


def test_only_a_signed_in_shopper_may_send_a_report_as_large_as_photos_need(make_app, create_user):
    """The mystery report form reads up to 48 MB for a camera's photos: before sign-in was checked, anyone
    could make the server read that much for nothing."""
    app = make_app(MAX_CONTENT_LENGTH=LIMIT)
    url = "/channels/mystery_shopper/assignments/999"
    body = b"comment=" + b"x" * (2 * LIMIT)
    anonymous = app.test_client().post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert anonymous.status_code == 413
    create_user("hana@example.com", roles=["hr"])  # signed in, but no shopper
    hr = app.test_client()
    assert sign_in(hr, "hana@example.com").status_code == 302
    assert hr.post(url, data=body, content_type="application/x-www-form-urlencoded").status_code == 413
    create_user("sam@example.com", roles=["shopper"])
    shopper = app.test_client()
    assert sign_in(shopper, "sam@example.com").status_code == 302
    read = shopper.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert read.status_code != 413  # read, then refused for what it is (no CSRF token, no such assignment)
