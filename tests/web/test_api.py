"""API v1: hashed scoped tokens, feedback ingestion with field-level errors, the OpenAPI document."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.models import ApiToken, Feedback, utcnow
from tests.fixtures.app import row_counts
from tests.fixtures.payloads import survey

URL = "/api/v1/channels/post_ticket_survey/feedback"


@pytest.fixture
def issue_token(session, create_user):
    numbers = itertools.count(1)

    def issue(scopes=("feedback:write", "feedback:read"), **changes) -> str:
        user = create_user(f"bot{next(numbers)}@example.com", roles=["admin"])
        token, plain = ApiToken.issue(user, "test", list(scopes))
        for key, value in changes.items():
            setattr(token, key, value)
        session.add(token)
        session.commit()
        return plain
    return issue


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_stored_only_as_its_hash(session, issue_token):
    plain = issue_token()
    stored = session.scalar(select(ApiToken))
    assert plain not in (stored.token_hash, stored.prefix) and stored.token_hash != plain
    assert plain.startswith(stored.prefix)


def test_missing_unknown_revoked_expired_and_unscoped_tokens_are_refused(client, issue_token):
    assert client.post(URL, json=survey()).status_code == 401
    assert client.post(URL, json=survey(), headers=_auth("pld_nonsense")).status_code == 401
    assert client.post(URL, json=survey(), headers=_auth(issue_token(revoked_at=utcnow()))).status_code == 401
    expired = issue_token(expires_at=utcnow() - timedelta(minutes=1))
    assert client.post(URL, json=survey(), headers=_auth(expired)).status_code == 401
    read_only = client.post(URL, json=survey(), headers=_auth(issue_token(scopes=("feedback:read",))))
    assert read_only.status_code == 403 and "feedback:write" in read_only.get_json()["message"]


def test_ingest_then_replay(client, session, issue_token):
    token = issue_token()
    first = client.post(URL, json=survey(), headers={"Authorization": f"bearer {token}"})  # any case of the scheme
    assert first.status_code == 201
    replay = client.post(URL, json=survey(), headers=_auth(token))
    assert replay.status_code == 200
    assert replay.get_json()["duplicates"][0]["feedback_id"] == first.get_json()["created"][0]["feedback_id"]
    assert session.scalar(select(func.count()).select_from(Feedback)) == 1


def test_invalid_payload_is_422_naming_fields_and_writes_nothing(app, client, issue_token):
    token = issue_token()
    before = row_counts(app)
    response = client.post(URL, json=survey(rating=11, kind="nps") | {"answered_at": "yesterday"},
                           headers=_auth(token))
    assert response.status_code == 422
    errors = response.get_json()["rejected"][0]["errors"]
    assert set(errors) == {"answered_at", "rating"}
    assert row_counts(app) == before


def test_non_json_and_wrong_shapes_are_clear(client, issue_token):
    token = issue_token()
    form = client.post(URL, data="rating=5", headers=_auth(token))
    assert form.status_code == 415 and "Content-Type: application/json" in form.get_json()["message"]
    broken = client.post(URL, data='{"rating"', headers=_auth(token) | {"Content-Type": "application/json"})
    assert broken.status_code == 400 and "not valid JSON: Expecting ':' delimiter" in broken.get_json()["message"]
    # An endpoint whose body webargs reads says the same, where the JSON breaks (it said "json: Invalid JSON body.")
    runner = _auth(issue_token(scopes=("appraisal:write",))) | {"Content-Type": "application/json"}
    runs = client.post("/api/v1/runs/", data="{", headers=runner)
    assert runs.status_code == 400 and "not valid JSON: Expecting property name" in runs.get_json()["message"]
    for url in ("/api/v1/runs/", URL):  # JSON null: 400 on both (the run's was a 422 naming no field)
        null = client.post(url, data="null", headers=runner | _auth(token) if url == URL else runner)
        assert null.status_code == 400 and null.get_json()["message"] == "the body is JSON null: send a payload"
        # ... once the token is checked: without one, the body is not read
        anonymous = client.post(url, data="{", headers={"Content-Type": "application/json"})
        assert anonymous.status_code == 401
    assert client.post(URL, json=[survey()], headers=_auth(token)).status_code == 422
    assert client.post(URL + "/batch", json=survey(), headers=_auth(token)).status_code == 422
    unknown = client.post("/api/v1/channels/carrier_pigeon/feedback", json={}, headers=_auth(token))
    assert unknown.status_code == 404 and "post_ticket_survey" in unknown.get_json()["message"]
    # the channel is looked up first: an array sent to one that does not exist is still a 404
    assert client.post("/api/v1/channels/carrier_pigeon/feedback", json=[{}], headers=_auth(token)).status_code == 404


def test_batch_reports_each_payload(client, issue_token):
    token = issue_token()
    response = client.post(URL + "/batch", json=[survey("a"), survey("b", rating=0), survey("a")],
                           headers=_auth(token))
    assert response.status_code == 201
    body = response.get_json()
    assert [c["index"] for c in body["created"]] == [0]
    assert [d["index"] for d in body["duplicates"]] == [2]
    assert body["rejected"] == [{"index": 1, "errors": {"rating": ["must be between 1 and 5 on this csat scale"]}}]


def test_batch_answer_is_what_the_documented_schema_dumps(client, issue_token):
    from web.api.channels import IngestReportSchema

    token = issue_token()
    client.post(URL, json=survey("old"), headers=_auth(token))
    response = client.post(URL + "/batch", json=[survey("a", comment="Fine."), survey("b", rating=0),
                                                   survey("old"), survey("c", agent=None)], headers=_auth(token))
    body = response.get_json()
    assert len(body["created"]) == 2 and len(body["duplicates"]) == 1 and len(body["rejected"]) == 1
    assert body == IngestReportSchema().dump(body)


def test_batch_over_the_limit_is_413(make_app, session, create_user):
    app = make_app(INGEST_BATCH_LIMIT=2)
    token, plain = ApiToken.issue(create_user("bot@example.com", roles=["admin"]), "t", ["feedback:write"])
    session.add(token)
    session.commit()
    response = app.test_client().post(URL + "/batch", json=[survey("a"), survey("b"), survey("c")],
                                      headers=_auth(plain))
    assert response.status_code == 413 and "at most 2" in response.get_json()["message"]


def test_channels_are_listed(client, issue_token):
    response = client.get("/api/v1/channels/", headers=_auth(issue_token()))
    assert response.get_json() == [
        {"name": "mystery_shopper", "title": "Mystery shoppers", "kinds": ["mystery_report", "mystery_section"],
         "api_ingest": False},
        {"name": "post_ticket_survey", "title": "Post-ticket surveys", "kinds": ["csat", "nps", "ces"],
         "api_ingest": True},
        {"name": "social_monitoring", "title": "Social monitoring", "kinds": ["social_mention", "social_reply"],
         "api_ingest": True},
        {"name": "ticket_metrics", "title": "Ticket timings", "kinds": ["first_response_time", "resolution_time"],
         "api_ingest": False}]


@pytest.mark.parametrize("slug, payload", [
    # A mystery score without an assignment, report or review; it would also take the report's id
    ("mystery_shopper", {"employee_id": 1, "report_id": 6, "visited_at": "2026-11-20T10:00:00Z", "score": 0.0}),
    # A ticket timing no ticket shows
    ("ticket_metrics", {"ticket": "zendesk:5001", "metric": "first_response_time", "minutes": 1,
                        "at": "2026-11-20T10:00:00Z"}),
])
def test_channels_fed_by_their_own_workflow_take_no_payloads_from_tokens(client, session, issue_token, slug,
                                                                          payload):
    headers = _auth(issue_token())
    for path, body in ((f"/api/v1/channels/{slug}/feedback", payload),
                       (f"/api/v1/channels/{slug}/feedback/batch", [payload])):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 403 and "takes no payloads from API tokens" in response.get_json()["message"]
    assert session.scalar(select(func.count()).select_from(Feedback)) == 0


def test_a_token_cannot_take_the_ids_a_helpdesk_or_survey_page_writes(app, client, issue_token):
    """Stored first, a forged 'zendesk:rating:77777' made the real webhook delivery a duplicate."""
    result = app.test_cli_runner().invoke(args=["integrations", "create", "generic", "Desk", "--namespace", "mydesk"])
    assert result.exit_code == 0, result.output
    token = issue_token()
    response = client.post(URL + "/batch", headers=_auth(token), json=[
        survey("zendesk:rating:77777"), survey("pts-invitation-5-q1"), survey("mydesk:rating:1"), survey("zd-77777")])
    body = response.get_json()
    assert response.status_code == 201 and [c["external_id"] for c in body["created"]] == ["zd-77777"]
    refused = {r["index"]: r["errors"]["external_id"][0] for r in body["rejected"]}
    assert set(refused) == {0, 1, 2}
    assert "ids starting 'zendesk:' are those of items 'post_ticket_survey' receives itself" in refused[0]
    assert "'pts-invitation-'" in refused[1] and "'mydesk:'" in refused[2]


def test_an_account_linked_to_an_employee_cannot_send_feedback_about_them(client, session, create_user,
                                                                           create_employee):
    """An HR account that is also an employee could otherwise write the evidence for their own bonus."""
    ann = create_employee("Ann", identities=[("helpdesk", "101")])
    create_employee("Bob", identities=[("helpdesk", "102")])
    owner = create_user("ann@example.com", roles=["hr", "employee"], employee=ann)
    token, plain = ApiToken.issue(owner, "test", ["feedback:write"])
    session.add(token)
    session.commit()
    response = client.post(URL + "/batch", headers=_auth(plain), json=[
        survey("a-1"), survey("b-1", agent=("helpdesk", "102")), survey("a-2", agent=("helpdesk", " 101"))])
    body = response.get_json()
    assert response.status_code == 201
    assert [(c["index"], c["external_id"]) for c in body["created"]] == [(1, "b-1")]
    assert [r["index"] for r in body["rejected"]] == [0, 2]
    assert "linked to the account sending it" in body["rejected"][0]["errors"]["employee"][0]
    assert session.scalar(select(func.count()).select_from(Feedback)) == 1


def test_openapi_document_is_served(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/channels/{slug}/feedback" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_unreachable_database_answers_503_and_asks_to_retry(make_app):
    app = make_app(DATABASE_URL="postgresql://plaudit:s3cret@127.0.0.1:1/nowhere")
    response = app.test_client().post(URL, json=survey(), headers=_auth("pld_whatever"))
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "nothing was saved" in response.get_json()["message"]
    assert "s3cret" not in response.get_data(as_text=True)


def test_empty_batch_is_a_no_op(client, issue_token):
    response = client.post(URL + "/batch", json=[], headers=_auth(issue_token()))
    assert response.status_code == 200 and response.get_json()["created"] == []


def test_token_use_is_recorded_even_on_read_only_calls(client, session, issue_token):
    token = issue_token()
    client.get("/api/v1/channels/", headers=_auth(token))
    session.expire_all()
    assert session.scalar(select(ApiToken.last_used_at)) is not None


def test_tokens_are_for_admin_and_hr_and_lapse_with_the_owner_role(client, session, create_user):
    from core.models import User

    owner = create_user("bot@example.com", roles=["hr"])
    token, plain = ApiToken.issue(owner, "t", ["feedback:write"])
    session.add(token)
    session.commit()
    assert client.post(URL, json=survey(), headers=_auth(plain)).status_code == 201
    owner.roles = ["employee"]
    session.commit()
    refused = client.post(URL, json=survey("r-2"), headers=_auth(plain))
    assert refused.status_code == 403 and "no longer holds" in refused.get_json()["message"]
    assert session.get(User, owner.id).roles == {"employee"}
