"""The access-control matrix: every route and API endpoint, opened by every role.

``PAGES`` says, by hand, which roles may open each page; the test fails on a route missing from it, so a new
route cannot ship without a decision. Beyond the roles, it checks the data: a manager opening a page about
someone outside their teams, or an employee about a colleague, gets 403, and no page a role may open names
anyone that role may not see. API endpoints are checked per token scope and per the token owner's role.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from sqlalchemy import func, select

from appraisal.guidelines import publish_guideline
from appraisal.models import Recommendation
from channels.mystery_shopper.assignments import create_assignment
from channels.mystery_shopper.models import Assignment, Report, ReportTemplate
from channels.mystery_shopper.proof import store_photo
from channels.mystery_shopper.template import publish_template
from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.sources import save_source
from core.db import transaction
from core.models import (
    ApiToken,
    Dispute,
    Feedback,
    Flag,
    Integration,
    PendingJob,
    Team,
    User,
)
from tests.channels.mystery_shopper.visits import DUE, VISIT_FROM, VISIT_UNTIL
from tests.channels.mystery_shopper.visits import TEMPLATE as VISIT_TEMPLATE
from tests.fixtures.app import row_counts
from tests.fixtures.appraisal import GUIDELINE, WEEK
from tests.fixtures.org import csrf_token, sign_in
from tests.fixtures.routes import routes

pytestmark = pytest.mark.usefixtures("session_per_request")

ROLES = ("admin", "hr", "manager", "employee", "shopper")
SIGNED_IN = frozenset(ROLES)
PEOPLE = frozenset({"hr", "manager"})
#: Who may open each page (GET), decided by hand. Public routes are listed with "public".
PAGES: Mapping[str, frozenset[str]] = {
    "health.healthz": frozenset({"public"}),
    "auth.login": frozenset({"public"}),
    "password.forgotten": frozenset({"public"}),
    "password.reset": frozenset({"public"}),
    "api-docs.openapi_json": frozenset({"public"}),
    "pages.home": SIGNED_IN,
    # an employee's own report; other roles get a page saying they have none
    "report.mine": SIGNED_IN,
    "report.employee": frozenset({"hr", "manager", "employee"}),
    "report.lineage": frozenset({"hr", "manager", "employee"}),
    "report.team": PEOPLE,
    "team.dashboard": PEOPLE,
    "team.targets": PEOPLE,
    "team.responses": PEOPLE,
    "queue.unattributed": PEOPLE,
    "review.disputes": PEOPLE,
    "review.decided_disputes": PEOPLE,
    "review.recommendations": PEOPLE,
    "review.flags": frozenset({"hr"}),
    "org.overview": frozenset({"hr"}),
    "people.index": frozenset({"hr"}),
    "people.person": frozenset({"hr"}),
    "person_details.new": frozenset({"hr"}),
    "person_details.edit": frozenset({"hr"}),
    "person_details.import_file": frozenset({"hr"}),
    "runs.index": frozenset({"hr"}),
    "guidelines.index": frozenset({"hr"}),
    "guidelines.show": frozenset({"hr"}),
    "guidelines.diff": frozenset({"hr"}),
    "guidelines.edit": frozenset({"hr"}),
    "admin.integrations": frozenset({"admin"}),
    "admin.integration_secret": frozenset({"admin"}),
    "admin.plugins": frozenset({"admin"}),
    "admin.jobs": frozenset({"admin"}),
    "tokens.index": frozenset({"admin"}),
    "accounts.index": frozenset({"admin"}),
    "accounts.account": frozenset({"admin"}),
    "password.change": frozenset(ROLES),
    "privacy.erase": frozenset({"hr", "admin"}),
    "mystery_shopper.assignments": frozenset({"shopper", "hr", "manager"}),
    "mystery_shopper.new_assignment": PEOPLE,
    "mystery_shopper.report_form": frozenset({"shopper"}),  # their own only: tests/channels/mystery_shopper
    "mystery_shopper.reviews": PEOPLE,
    "mystery_shopper.review": PEOPLE,
    "mystery_shopper.photo": PEOPLE,
    "mystery_shopper.templates": frozenset({"hr"}),
    "mystery_shopper.template": frozenset({"hr"}),
    "mystery_shopper.import_template": frozenset({"hr"}),
    "mystery_shopper.edit_template": frozenset({"hr"}),
    "social.sources": frozenset({"hr", "admin"}),
    "social.source": frozenset({"hr", "admin"}),
}
#: Who may send each form (POST), by hand. Logging in and out are left to tests/web/test_sessions.py.
FORMS: Mapping[str, frozenset[str]] = {
    # anyone may dispute an item credited to them; whose item it is, is checked in test_report_pages.py
    "report.dispute": SIGNED_IN,
    "team.targets": PEOPLE,
    "queue.attribute": PEOPLE,
    "queue.confirm": PEOPLE,
    "queue.reject": PEOPLE,
    "queue.keep_for_org": frozenset({"hr"}),
    "review.disputes": PEOPLE,
    "review.recommendations": PEOPLE,
    "review.flags": frozenset({"hr"}),
    "guidelines.edit": frozenset({"hr"}),
    "guidelines.preview": frozenset({"hr"}),
    "runs.index": frozenset({"hr"}),
    "people.person": frozenset({"hr"}),
    "people.returning": frozenset({"hr"}),
    "people.joined": frozenset({"hr"}),
    "person_details.new": frozenset({"hr"}),
    "person_details.edit": frozenset({"hr"}),
    "person_details.email": frozenset({"hr"}),
    "person_details.import_file": frozenset({"hr"}),
    "admin.integrations": frozenset({"admin"}),
    "admin.integration_secret": frozenset({"admin"}),
    "admin.integration_active": frozenset({"admin"}),
    "admin.dispatch_jobs": frozenset({"admin"}),
    "admin.discard_job": frozenset({"admin"}),
    "tokens.index": frozenset({"admin"}),
    "tokens.revoke": frozenset({"admin"}),
    "accounts.index": frozenset({"admin"}),
    "accounts.account": frozenset({"admin"}),
    "accounts.active": frozenset({"admin"}),
    "accounts.password": frozenset({"admin"}),
    "password.change": frozenset(ROLES),
    "privacy.erase": frozenset({"hr", "admin"}),
    "mystery_shopper.new_assignment": PEOPLE,
    "mystery_shopper.report_form": frozenset({"shopper"}),
    "mystery_shopper.review": PEOPLE,
    "mystery_shopper.import_template": frozenset({"hr"}),
    "mystery_shopper.edit_template": frozenset({"hr"}),
    "social.sources": frozenset({"hr", "admin"}),
    "social.source": frozenset({"hr", "admin"}),
    "social.source_secret": frozenset({"hr", "admin"}),
    "social.source_active": frozenset({"hr", "admin"}),
}
#: Query strings some pages need to show their content rather than a picker.
QUERIES = {"guidelines.diff": lambda ids: {"from": 1, "to": 2}}
#: Pages a role may open that send it on to its own work instead: (endpoint, role) -> where to.
SENT_ON = {("pages.home", "shopper"): "/channels/mystery_shopper/assignments", ("pages.home", "employee"): "/report"}
#: Query strings naming someone out of the role's scope, per page and role.
FOREIGN_QUERIES = {
    "team.responses": {"manager": lambda ids: {"employee": ids["dan"]}},
    "team.dashboard": {"manager": lambda ids: {"team": ids["billing"]}},
    "report.employee": {"employee": lambda ids: {}},
}
# The push endpoint is public: each delivery proves itself with its source's signature
# (tests/channels/social_monitoring/test_push.py).
#: Public pages answering otherwise when opened bare: a password link without its token does not work.
PUBLIC_ANSWERS = {"password.reset": (400,)}
# A forgotten password's two forms are for someone signed out, proved by the address's mailbox and the link's
# signed token (tests/web/test_password_reset.py).
SKIPPED_FORMS = {"auth.login", "auth.logout", "social.push", "password.forgotten", "password.reset"}
#: The accounts of the worked example, and the employees each may not see (by name, as pages print them).
ACCOUNTS = {"admin": "admin@example.com", "hr": "hr@example.com", "manager": "mia@example.com",
            "employee": "ann@example.com", "shopper": "shopper@example.com"}
# The shopper is sent to Ann, so their assignment names her; nobody else.
#: The admin's accounts pages name every account holder and the employee each is: managing them is the page's
#: purpose. They show no feedback, result or appraisal.
NAMES_ACCOUNTS = {"accounts.index", "accounts.account"}
HIDDEN = {"admin": ("Ann", "Bob", "Cat", "Dan"), "shopper": ("Bob", "Cat", "Dan"),
          "manager": ("Dan",), "employee": ("Bob", "Cat", "Dan")}


@pytest.fixture
def world(app, worked_example):
    """The worked example, appraised, with a second guideline version, an open flag and disputes, a shopper
    sent to Ann whose report (with a photo) waits for review, an integration and a social source; returns the example, and the
    ids of people, teams and items by name."""
    run_id = worked_example.run()
    with transaction() as session:
        hr = session.get(User, worked_example.hr)
        shopper = User(email="shopper@example.com", name="Sam Shopper", password_hash=hr.password_hash)
        shopper.roles = ["shopper"]
        session.add(shopper)
        publish_guideline(session, {**GUIDELINE, "min_sample": 3}, actor=hr, note="smaller samples")
        items = {name: session.scalar(select(func.min(Feedback.id)).where(Feedback.employee_id == employee))
                 for name, employee in worked_example.ids.items()}
        session.add(Flag(feedback_id=items["bob"], check="self_rating", reason="rated by the agent"))
        session.add(Dispute(feedback_id=items["ann"], raised_by=worked_example.users["ann"], reason="not mine"))
        session.add(Dispute(feedback_id=items["dan"], raised_by=worked_example.users["dan"], reason="not mine"))
        session.add(Integration(provider="zendesk", name="Zendesk", webhook_secret="s" * 32))
        session.add(ApiToken.issue(hr, "a bridge", ["org:read"])[0])  # for the admin's page to list and revoke
        # A queued item a channel proposes for Billing's Dan: Mia's queue must not name him.
        session.add(Feedback(channel="test", kind="csat", external_id="proposed-dan", value=2.0, scale_min=1.0,
                             scale_max=5.0, occurred_at=WEEK.start, payload={},
                             proposed_employee_id=worked_example.ids["dan"]))
        save_source(session, hr, name="brand-push", kind="push", handles=["AcmeCare"])
        teams = dict(session.execute(select(Team.slug, Team.id)).all())
        template = publish_template(session, "visit", "Visit", VISIT_TEMPLATE, actor=hr)
        session.flush()
        assignment = create_assignment(session, hr, template_id=template.id, shopper_id=shopper.id,
                                       employee_id=worked_example.ids["ann"], scenario="Ask about fees.",
                                       due_at=DUE, visit_from=VISIT_FROM, visit_until=VISIT_UNTIL)
        session.add(Report(assignment_id=assignment.id, template_id=template.id, answers={}, integrity={},
                           status="submitted", visited_at=VISIT_FROM, receipt_number="R-1",
                           photo_path=store_photo(session, b"\x89PNG\r\n\x1a\n", "image/png"), photo_type="image/png"))
    ids = {**worked_example.ids, **teams, "run": run_id, **{f"item_{name}": item for name, item in items.items()}}
    return worked_example, ids


def _client(app, role: str | None):
    client = app.test_client()
    if role is not None:
        assert sign_in(client, ACCOUNTS[role]).status_code == 302, role
    return client


def _values(app, ids, *, foreign_to: str | None = None) -> dict:
    """URL parameter values: ones every allowed role may see, or, with ``foreign_to``, ones that role may not."""
    other = {"employee": "bob", "manager": "dan"}.get(foreign_to, "ann")
    with app.app_context(), transaction() as session:
        first = lambda model, *where: session.scalar(select(func.min(model.id)).where(*where))
        found = {"flag_id": first(Flag), "recommendation_id": first(Recommendation), "user_id": first(User),
                 "token_id": first(ApiToken), "integration_id": first(Integration), "assignment_id": first(Assignment),
                 "template_id": first(ReportTemplate),
                 "dispute_id": first(Dispute, Dispute.feedback_id == ids[f"item_{other}"]),
                 "report_id": first(Report), "source_id": first(SocialSource), "job_id": first(PendingJob) or 1}
    found.update(employee_id=ids[other], feedback_id=ids[f"item_{other}"], run_id=ids["run"], version=1,
                 team_id=ids["billing" if foreign_to == "manager" else "support"], slug="post_ticket_survey",
                 metric="csat_percent")
    return {name: (lambda value=value: value) for name, value in found.items()}


def test_every_route_is_in_the_matrix(app):
    pages = {route.endpoint for route in routes(app) if "GET" in route.methods}
    forms = {route.endpoint for route in routes(app) if route.methods & {"POST", "PUT", "PATCH", "DELETE"}
             and not route.is_api} - SKIPPED_FORMS
    api = {route.endpoint for route in routes(app) if route.is_api}
    assert sorted(pages - set(PAGES) - api) == [], "pages nobody decided the access to"
    assert sorted(forms - set(FORMS)) == [], "forms nobody decided the access to"


def test_each_role_opens_exactly_the_pages_it_may(app, world):
    _, ids = world
    values = _values(app, ids)
    for role in (None, *ROLES):
        client = _client(app, role)
        for route in routes(app):
            if "GET" not in route.methods or route.is_api:
                continue
            allowed = PAGES[route.endpoint]
            response = client.get(route.url(values, QUERIES.get(route.endpoint, lambda _: None)(ids)))
            where = (route.endpoint, role)
            if "public" in allowed:  # the sign-in page sends the signed-in home: 302
                assert response.status_code in PUBLIC_ANSWERS.get(route.endpoint, (200, 302, 503)), where
            elif role is None:
                assert response.status_code == 302 and "/login" in response.headers["Location"], where
            elif where in SENT_ON:
                assert response.status_code == 302 and response.headers["Location"].endswith(SENT_ON[where]), where
            elif role in allowed:
                assert response.status_code == 200, where
                hidden = HIDDEN.get(role, ()) if route.endpoint not in NAMES_ACCOUNTS else ()
                if hidden and response.mimetype.startswith("text/"):  # not a proof photo
                    leaked = re.findall(rf"\b({'|'.join(hidden)})\b", response.get_data(as_text=True))
                    assert not leaked, f"{route.endpoint} shows {role} {sorted(set(leaked))}"
            else:
                assert response.status_code == 403, where


def test_pages_about_someone_out_of_scope_are_refused(app, world):
    _, ids = world
    probed = set()
    for role in ("employee", "manager"):
        client = _client(app, role)
        values = _values(app, ids, foreign_to=role)
        for route in routes(app):
            arguments = set(re.findall(r"<(?:\w+:)?(\w+)>", route.rule))
            foreign_query = FOREIGN_QUERIES.get(route.endpoint, {}).get(role)
            if ("GET" not in route.methods or route.is_api or role not in PAGES[route.endpoint]
                    or not (arguments & {"employee_id", "feedback_id", "dispute_id", "team_id"} or foreign_query)):
                continue
            url = route.url(values, foreign_query(ids) if foreign_query else None)
            assert client.get(url).status_code == 403, (route.endpoint, role, url)
            probed.add((route.endpoint, role))
    assert {("report.employee", "employee"), ("report.employee", "manager"), ("report.lineage", "employee"),
            ("report.lineage", "manager"), ("team.responses", "manager"),
            ("team.dashboard", "manager")} <= probed


def test_forms_refuse_roles_that_may_not_send_them_and_change_nothing(app, world):
    _, ids = world
    values = _values(app, ids)
    for role in ROLES:
        client = _client(app, role)
        token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
        for route in routes(app):
            if (route.is_api or route.endpoint in SKIPPED_FORMS
                    or not route.methods & {"POST"} or role in FORMS[route.endpoint]):
                continue
            before = row_counts(app)
            response = client.post(route.url(values), data={"csrf_token": token})
            assert response.status_code == 403, (route.endpoint, role, response.status_code)
            assert row_counts(app) == before, (route.endpoint, role)


def test_api_endpoints_need_a_token_with_their_scope_held_by_hr_or_admin(app, world):
    from core.auth import access_of
    from core.cli.accounts import API_SCOPES

    example, ids = world
    values = _values(app, ids)
    tokens = {}
    with app.app_context(), transaction() as session:
        hr = session.get(User, example.hr)
        manager = session.get(User, example.manager)
        for scope in API_SCOPES:
            row, tokens[scope] = ApiToken.issue(hr, scope, [scope])
            session.add(row)
        # A manager's token (issued while they were HR, say): worth nothing now.
        row, tokens["manager"] = ApiToken.issue(manager, "former hr", list(API_SCOPES))
        session.add(row)
    client = app.test_client()
    for route in routes(app):
        if not route.is_api or route.endpoint == "api-docs.openapi_json":
            continue
        (access,) = access_of(app, route.endpoint)
        assert access.startswith("token:"), route.endpoint
        scope = access.removeprefix("token:")
        for method in sorted(route.methods):
            url = route.url(values)
            call = lambda token=None, m=method, u=url: client.open(
                u, method=m, json={}, headers={"Authorization": f"Bearer {token}"} if token else {})
            assert call().status_code == 401, (route.endpoint, method)
            assert call(tokens["manager"]).status_code == 403, (route.endpoint, method, "manager's token")
            for other in API_SCOPES:
                status = call(tokens[other]).status_code
                if other == scope:
                    assert status not in (401, 403), (route.endpoint, method, other)
                else:
                    assert status == 403, (route.endpoint, method, other, status)


def test_a_manager_cannot_act_on_someone_outside_their_teams(app, world):
    """Mia leads Support; every decision about Billing's Dan is refused (403) and writes nothing."""
    _, ids = world
    with app.app_context(), transaction() as session:
        dans_dispute = session.scalar(select(Dispute.id).where(Dispute.feedback_id == ids["item_dan"]))
        waiting = Feedback(channel="test", kind="csat", external_id="nobody-1", value=2.0, scale_min=1.0,
                           scale_max=5.0, occurred_at=WEEK.start, payload={}, proposed_employee_id=ids["dan"])
        dans_proposal = Recommendation(run_id=ids["run"], employee_id=ids["dan"], kind="bonus", source="test",
                                       amount=10.0, requested_amount=10.0, reason="test", status="proposed",
                                       needs_approval=True)
        session.add_all([waiting, dans_proposal])
        session.flush()
        waiting_id, proposal_id = waiting.id, dans_proposal.id
    client = _client(app, "manager")
    token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
    attempts = {
        "/review/disputes": {"dispute_id": dans_dispute, "decision": "uphold", "outcome": "excluded"},
        "/review/recommendations": {"recommendation_id": proposal_id, "decision": "approve", "note": "ok"},
        f"/unattributed/{waiting_id}/attribute": {"employee": ids["dan"]},
        f"/unattributed/{waiting_id}/confirm": {},
        f"/unattributed/{waiting_id}/reject": {},
        "/targets": {"subject": f"employee:{ids['dan']}", "metric": "csat_percent", "period_kind": "month",
                     "day": "2026-11-02", "value": "70"},
    }
    for url, form in attempts.items():
        before = row_counts(app)
        response = client.post(url, data={**form, "csrf_token": token})
        assert response.status_code == 403, (url, response.status_code)
        assert row_counts(app) == before, url
