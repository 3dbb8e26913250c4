"""Every page and API list issues the same number of SQL statements with 10 employees as with 1,000.

The organisation is built by tests/fixtures/scale.py and appraised at both sizes; each page is opened by
every role allowed to open it, and the statements are counted at the database engine.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, func, select

from appraisal.models import AppraisalRun, Recommendation
from channels.mystery_shopper.models import Assignment, Report, ReportTemplate
from channels.mystery_shopper.proof import store_photo
from channels.social_monitoring.models import SocialSource
from channels.social_monitoring.sources import save_source
from core.db import get_session
from core.models import (
    ApiToken,
    Dispute,
    Employee,
    Feedback,
    Flag,
    Integration,
    User,
    utcnow,
)
from tests.fixtures.mystery import assign_visit
from tests.fixtures.org import sign_in
from tests.fixtures.routes import routes
from tests.fixtures.scale import sized_org

#: Who opens the pages: every signed-in role, with the worked example's logins.
VIEWERS = {"hr": "hr@example.com", "manager": "mia@example.com", "employee": "ann@example.com",
           "admin": "admin@example.com", "shopper": "shopper@example.com"}
#: Pages that read no organisation data.
UNMEASURED = {"health.healthz", "auth.login", "api-docs.openapi_json", "password.forgotten", "password.reset"}
#: Query strings that make a page show a list rather than a picker.
QUERIES = {"team.responses": lambda org: {"employee": org.ann}}


def _values(app, org):
    """Values for URL parameters: always things every viewer of the page may see."""
    def scalar(statement):
        with app.app_context():
            return get_session().scalar(statement)

    def latest_run():
        return scalar(select(func.max(AppraisalRun.id)).where(AppraisalRun.status == "completed"))

    def first(model, *where):
        return lambda: scalar(select(func.min(model.id)).where(*where))

    return {"employee_id": lambda: org.ann, "team_id": lambda: org.support, "version": lambda: 1,
            "run_id": latest_run, "feedback_id": first(Feedback),
            "flag_id": first(Flag), "dispute_id": first(Dispute), "recommendation_id": first(Recommendation),
            "slug": lambda: "post_ticket_survey", "user_id": first(User), "token_id": first(ApiToken),
            "integration_id": first(Integration), "assignment_id": first(Assignment),
            "report_id": first(Report), "template_id": first(ReportTemplate), "source_id": first(SocialSource),
            "metric": lambda: "csat_percent"}


def _counts(app, clients, token, org) -> dict[tuple[str, str], int]:
    engine = app.extensions["plaudit.db"].engine
    values, counts = _values(app, org), {}
    for route in routes(app):
        if "GET" not in route.methods or route.endpoint in UNMEASURED:
            continue
        url = route.url(values, QUERIES.get(route.endpoint, lambda _: None)(org))
        viewers = {"token": None} if route.is_api else clients
        for role, client in viewers.items():
            statements = []
            listener = lambda *args, sink=statements: sink.append(args[2])
            event.listen(engine, "before_cursor_execute", listener)
            try:
                if route.is_api:
                    response = app.test_client().get(url, headers={"Authorization": f"Bearer {token}"})
                else:
                    response = client.get(url)
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            if response.status_code == 403:
                continue  # this role may not open it: the access matrix checks that
            # a shopper's home sends them on to their assignments, an employee's to their report (the access
            # matrix checks where)
            expected = 302 if (route.endpoint, role) in (("pages.home", "shopper"), ("pages.home", "employee")) else 200
            assert response.status_code == expected, (route.endpoint, role, url, response.status_code)
            counts[route.endpoint, role] = len(statements)
    return counts


def test_every_page_issues_as_many_queries_for_1000_employees_as_for_10(app):
    from core.cli.accounts import API_SCOPES

    # Requests run outside this test's app context: Flask-Login keeps the signed-in user on ``g``.
    with app.app_context():
        org = sized_org(10)
        session = get_session()
        hr = session.scalar(select(User).where(User.email == "hr@example.com"))
        shopper = session.scalar(select(User).where(User.email == "shopper@example.com"))
        visit = assign_visit(session, hr, shopper, employee_id=org.ann)
        # a report with its proof photo waits for review, so the review and photo pages are measured
        session.add(Report(assignment_id=visit.id, template_id=visit.template_id, answers={}, integrity={},
                           status="submitted", visited_at=visit.visit_from, receipt_number="R-1",
                           photo_path=store_photo(session, b"\x89PNG\r\n\x1a\n", "image/png"), photo_type="image/png"))
        # social sources, a feed and a push account, so the sources pages list and count something
        save_source(session, hr, name="brand-feed", kind="rss", url="https://example.com/m.rss", keywords=["refund"])
        save_source(session, hr, name="brand-push", kind="push")
        token, plain = ApiToken.issue(hr, "counts", list(API_SCOPES))
        # Its once-a-minute "last used" write must not land in one measurement and not the other.
        token.last_used_at = utcnow() + timedelta(hours=1)
        session.add(token)
        session.commit()
    clients = {}
    for role, email in VIEWERS.items():
        clients[role] = app.test_client()
        assert sign_in(clients[role], email).status_code == 302, email
    small = _counts(app, clients, plain, org)
    with app.app_context():
        org.grow(1000)
        assert get_session().scalar(select(func.count()).select_from(Employee)) >= 1000
    large = _counts(app, clients, plain, org)
    every_page = {route.endpoint for route in routes(app) if "GET" in route.methods} - UNMEASURED
    assert every_page - {endpoint for endpoint, _ in small} == set(), "pages no role could open"
    differing = {key: (small[key], large.get(key)) for key in small if small[key] != large.get(key)}
    assert differing == {}, f"pages whose query count grows with the organisation (10 vs 1000): {differing}"
