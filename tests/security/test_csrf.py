"""CSRF: every form POST without its token is refused with 400 and writes nothing.

The API (bearer tokens), the helpdesk webhooks and the social push endpoint (HMAC-signed or secret-bearing
deliveries) and the customer's survey page (the unguessable token in its link is the credential) carry no
cookie-borne authority, so they are exempt by design; this test pins that list, so a new exemption is a
decision someone makes, not an accident.
"""
from __future__ import annotations

from tests.fixtures.app import row_counts
from tests.fixtures.org import csrf_token, sign_in
from tests.fixtures.routes import Route

#: Each proves itself otherwise: a helpdesk's or a feed's signature, the token in a customer's survey link (a
#: mail client's one-click unsubscribe POSTs with no session at all).
EXEMPT_BY_DESIGN = {"post_ticket_survey.webhook", "post_ticket_survey.survey", "post_ticket_survey.survey_opt_out",
                    "post_ticket_survey.survey_opt_in", "social.push"}
ANY_VALUE = {"token": lambda: "x" * 20, "name": lambda: "acme", "slug": lambda: "post_ticket_survey"}


def _form_posts(app) -> list[Route]:
    return sorted((Route(rule.endpoint, rule.rule, frozenset(rule.methods))
                   for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and not rule.rule.startswith("/api/")),
                  key=lambda route: route.rule)


def test_every_form_post_without_a_token_is_refused_and_writes_nothing(app, client, create_user, session_per_request):
    create_user("all@example.com", roles=["admin", "hr", "manager", "employee", "shopper"])
    assert sign_in(client, "all@example.com").status_code == 302
    posts = _form_posts(app)
    before = row_counts(app)
    refused, exempt = [], set()
    for route in posts:
        url = route.url({**ANY_VALUE, **{name: (lambda: 1) for name in ("integration_id", "assignment_id",
                                                                        "report_id", "template_id", "source_id",
                                                                        "feedback_id", "job_id", "employee_id", "token_id",
                                                                        "user_id")}})
        response = client.post(url, data={"comment": "<script>alert(1)</script>", "name": "x"})
        if response.status_code == 400 and "CSRF token is missing" in response.get_data(as_text=True):
            refused.append(route.endpoint)
        else:
            exempt.add(route.endpoint)
    assert exempt == EXEMPT_BY_DESIGN, "a form POST answered without its CSRF token"
    assert len(refused) >= 25, refused  # every form of today: sign-in, sign-out, pages, channels' forms
    assert row_counts(app) == before


def test_a_token_from_another_session_is_refused(app, client, create_user, session_per_request):
    create_user("hr@example.com", roles=["hr"])
    stranger = app.test_client()
    foreign = csrf_token(stranger.get("/login").get_data(as_text=True))
    assert sign_in(client, "hr@example.com").status_code == 302
    before = row_counts(app)
    response = client.post("/runs", data={"csrf_token": foreign})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert row_counts(app) == before
