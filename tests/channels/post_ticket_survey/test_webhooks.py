"""Helpdesk webhooks: every real payload in ../shared/data/payloads, signed as its helpdesk signs."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.models import AuditEntry, EmployeeIdentity, Feedback, Integration, Ticket
from tests.fixtures.app import row_counts

from .helpdesk_webhooks import SECRET, payload, signed, stored_ticket


def _feedback(session, external_id) -> Feedback:
    session.expire_all()
    return session.scalar(select(Feedback).where(Feedback.external_id == external_id))


def test_zendesk_payloads(deliver, session, shared_data, create_employee):
    rater = create_employee("Rita", identities=[("zendesk", "135")])
    evented = create_employee("Eve", identities=[("zendesk", "87374")])
    auditor = create_employee("Aud", identities=[("zendesk", "1276936927")])
    owner = create_employee("Face Toe", email="facetoe@facetoe.com.au")  # known to Plaudit by e-mail only

    user = deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_user.json"))
    assert user.status_code == 200 and user.get_json()["agents_mapped"] == 1  # the agent account, by e-mail

    response = deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_satisfaction_rating.json"))
    assert response.status_code == 200, response.get_json()
    rating = _feedback(session, "zendesk:rating:35436")
    assert (rating.employee_id, rating.value, rating.scale_min, rating.scale_max, rating.ticket_ref) == (
        rater.id, 1.0, 0.0, 1.0, "zendesk:208")
    assert rating.attribution_policy == "assignee_at_rating"

    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_satisfaction_rating_event.json")
                   ).status_code == 200
    event = _feedback(session, "zendesk:rating:event-1274")
    assert (event.employee_id, event.value, event.comment) == (evented.id, 1.0, "Thanks, you guys are great!")

    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_ticket.json")).status_code == 200
    ticket = stored_ticket(session, "zendesk", 1)
    assert (ticket.assignee_id, ticket.status, ticket.category) == (owner.id, "pending", "incident")
    assert [a.employee_id for a in ticket.assignments] == [owner.id]

    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_ticket_audit.json")).status_code == 200
    assert stored_ticket(session, "zendesk", 7).assignee_id == auditor.id

    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_betamax_ticket_create_response.json")
                   ).status_code == 200
    assert stored_ticket(session, "zendesk", 4016).assignee_id is None  # created unassigned

    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_ticket_metric.json")).status_code == 200
    metric = stored_ticket(session, "zendesk", 4343)
    assert metric.first_response_at == datetime(2009, 7, 22, 14, 46, 29, tzinfo=UTC)  # created + 2391 min
    assert metric.resolved_at == datetime(2011, 5, 9, 10, 38, 52, tzinfo=UTC)

    again = deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_user.json"))
    assert again.get_json()["agents_mapped"] == 0  # mapped once, never re-mapped
    assert session.scalar(select(EmployeeIdentity.employee_id).where(
        EmployeeIdentity.provider == "zendesk", EmployeeIdentity.external_id == "1159307768")) == owner.id
    for name in ("zenpy_spec_group.json", "zenpy_spec_webhook.json", "zenpy_spec_tweet_event.json",
                 "zenpy_spec_ticket_metric_event.json"):
        answer = deliver("zendesk", payload(shared_data, f"zendesk/{name}"))
        assert answer.status_code == 200 and answer.get_json()["ignored"], name


def test_an_agent_account_goes_to_an_active_employee_and_takes_the_ratings_waiting_for_it(deliver, session,
                                                                                       shared_data, create_employee):
    """A rating that came before the helpdesk sent its agent's account stayed unattributed after the account
    was mapped; and an account was mapped to someone who had left, whose ratings then counted for nobody."""
    owner = create_employee("Face Toe", email="facetoe@facetoe.com.au")
    owner.active = False
    session.commit()
    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_user.json")).get_json()["agents_mapped"] == 0
    assert session.scalar(select(EmployeeIdentity).where(EmployeeIdentity.external_id == "1159307768")) is None

    owner.active = True  # back: the account is now theirs
    session.commit()
    rating = json.loads(payload(shared_data, "zendesk/zenpy_spec_satisfaction_rating.json"))
    rating["assignee_id"] = 1159307768
    answer = deliver("zendesk", rating)
    assert answer.status_code == 200, answer.get_json()
    assert _feedback(session, "zendesk:rating:35436").employee_id is None  # nobody known by that account yet
    assert deliver("zendesk", payload(shared_data, "zendesk/zenpy_spec_user.json")).get_json()["agents_mapped"] == 1
    assert _feedback(session, "zendesk:rating:35436").employee_id == owner.id
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(owner.id))
                              .order_by(AuditEntry.id)).all()
    assert actions == ["employee.identity_mapped", "feedback.credited_on_mapping"]


def test_zendesk_export_records_offered_ratings_never_count(deliver, session, shared_data):
    lines = payload(shared_data, "zendesk/airbyte_zendesk_sandbox_expected_records_excerpt.jsonl").splitlines()
    answers = [deliver("zendesk", line) for line in lines]
    assert [a.status_code for a in answers] == [200] * len(lines)
    assert sum("offered, not answered" in " ".join(a.get_json()["ignored"]) for a in answers) == 3
    assert session.scalar(select(Feedback).where(Feedback.channel == "post_ticket_survey")) is None


def test_freshdesk_payloads(deliver, session, shared_data, create_employee):
    replier = create_employee("Ria", identities=[("freshdesk", "501")])
    responder = create_employee("Ron", identities=[("freshdesk", "6010396333")])
    lister = create_employee("Lis", identities=[("freshdesk", "5004272350")])
    agent = create_employee("Abc", email="abc@xyz.com")

    assert deliver("freshdesk", payload(
        shared_data, "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json")).status_code == 200
    ticket = stored_ticket(session, "freshdesk", 2001)
    assert ticket.assignee_id == replier.id and ticket.status == "resolved"
    # the agent's public reply at 08:00 counts; the private note at 09:00 would not
    assert ticket.first_response_at == datetime(2024, 1, 3, 8, 0, tzinfo=UTC)

    assert deliver("freshdesk", payload(shared_data, "freshdesk/python_freshdesk_ticket_1.json")).status_code == 200
    assert stored_ticket(session, "freshdesk", 1).assignee_id == responder.id
    for name in ("python_freshdesk_all_tickets.json", "python_freshdesk_search_tickets.json"):
        assert deliver("freshdesk", payload(shared_data, f"freshdesk/{name}")).status_code == 200
    # snapshots arrive out of order (updated 2015, 2016, then 2015 and 2020 in the search results): the
    # history keeps time order and the newest observation holds the ticket
    one = stored_ticket(session, "freshdesk", 1)
    assert [a.employee_id for a in one.assignments] == [lister.id, responder.id, lister.id]
    assert one.assignee_id == lister.id

    notes = deliver("freshdesk", payload(shared_data, "freshdesk/python_freshdesk_conversations.json"))
    # a private note at 05:36:12, then the public reply at 05:36:14: only the reply is a first response
    assert notes.status_code == 200
    assert stored_ticket(session, "freshdesk", 1).first_response_at == datetime(2016, 5, 19, 5, 36, 14, tzinfo=UTC)

    assert deliver("freshdesk", payload(shared_data, "freshdesk/python_freshdesk_agents.json")
                   ).get_json()["agents_mapped"] == 1
    assert session.scalar(select(EmployeeIdentity.employee_id).where(
        EmployeeIdentity.provider == "freshdesk", EmployeeIdentity.external_id == "1")) == agent.id
    assert deliver("freshdesk", payload(shared_data, "freshdesk/python_freshdesk_groups.json")
                   ).get_json()["ignored"]


def test_freshdesk_ratings_map_minus_103_to_103_onto_seven_points(deliver, session, create_employee):
    ann = create_employee("Ann", identities=[("freshdesk", "77")])
    rating = {"id": 9, "survey_id": 1, "user_id": 5, "agent_id": 77, "ticket_id": 2001, "feedback": "Lovely",
              "created_at": "2024-01-05T10:00:00Z", "ratings": {"default_question": 102}}
    assert deliver("freshdesk", rating).status_code == 200
    item = _feedback(session, "freshdesk:rating:9")
    assert (item.employee_id, item.value, item.scale_min, item.scale_max) == (ann.id, 6.0, 1.0, 7.0)
    bad = deliver("freshdesk", {**rating, "id": 10, "ratings": {"default_question": 104}})
    assert bad.status_code == 422 and "ratings.default_question" in bad.get_json()["errors"]


def test_chatwoot_payloads(deliver, session, shared_data, create_employee):
    john = create_employee("John", identities=[("chatwoot", "1")])
    for name in ("chatwoot_docs_conversation_status_changed.json", "chatwoot_docs_message_created.json",
                 "chatwoot_docs_conversation_resolved.json"):
        assert deliver("chatwoot", payload(shared_data, f"chatwoot/{name}")).status_code == 200, name
    conversation = stored_ticket(session, "chatwoot", 10)
    assert (conversation.assignee_id, conversation.status) == (john.id, "resolved")
    assert conversation.resolved_at == datetime.fromtimestamp(1627063520, UTC)

    csat = json.loads(payload(shared_data, "chatwoot/chatwoot_docs_message_created.json"))
    csat.update(id=119, content_type="input_csat", message_type="outgoing", content_attributes={
        "submitted_values": {"csat_survey_response": {"rating": 4, "feedback_message": "Quick!"}}})
    assert deliver("chatwoot", csat).status_code == 200
    answer = _feedback(session, "chatwoot:rating:119")
    assert (answer.employee_id, answer.value, answer.scale_max, answer.comment) == (john.id, 4.0, 5.0, "Quick!")


def test_zammad_payloads(deliver, session, shared_data, create_employee):
    emma = create_employee("Emma", identities=[("zammad", "5")])
    chris = create_employee("Chris", identities=[("zammad", "3")])
    assert deliver("zammad", payload(shared_data, "zammad/zammad_admin_docs_webhook_default_payload.json")
                   ).status_code == 200
    ticket = stored_ticket(session, "zammad", 81)
    assert (ticket.assignee_id, ticket.category) == (emma.id, "Service Desk")
    assert ticket.first_response_at is None  # the article is the customer's
    assert deliver("zammad", payload(shared_data, "zammad/zammad_api_docs_ticket_list_response.json")
                   ).status_code == 200
    assert stored_ticket(session, "zammad", 1).assignee_id is None  # owner 1 is Zammad's "nobody"
    assert stored_ticket(session, "zammad", 2).assignee_id == chris.id
    # A list gives only state ids: Zammad's default 4 is "closed", solved (it was stored as "4", solved never).
    states = {t.external_id: (t.status, t.resolved_at is not None) for t in (stored_ticket(session, "zammad", n)
                                                                             for n in (1, 2))}
    assert states == {"1": ("new", False), "2": ("closed", True)}


def test_help_scout_rating_webhook_as_help_scout_documents_it(deliver, session, create_employee):
    """The satisfaction.ratings object (developer.helpscout.com/webhooks/objects/rating): it names the
    conversation as ticketId and no agent, so the conversation's assignee is credited."""
    sam = create_employee("Sam", identities=[("helpscout", "44")])
    conversation = {"id": 1560011, "subject": "Refund", "status": "closed", "type": "email",
                    "createdAt": "2026-11-02T09:00:00Z", "closedAt": "2026-11-02T11:00:00Z", "assignee": {"id": 44}}
    assert deliver("helpscout", conversation).status_code == 200
    for rating_id, face in ((5434, "Great"), (5435, "Okay"), (5436, "Bad")):
        rating = {"id": rating_id, "customer": {"id": 449379, "firstName": "John", "emails": [
                      {"id": 1220012, "value": "john.doe@example.com", "location": "work"}]},
                  "ticketId": 1560011, "threadId": 3002084, "mailbox": {"id": 1234, "name": "My Mailbox"},
                  "rating": face, "comments": "he was really helpful" if face == "Great" else None,
                  "createdAt": "2026-11-02T12:34:12Z", "modifiedAt": "2026-11-02T12:40:33Z"}
        response = deliver("helpscout", rating)
        assert response.status_code == 200, response.get_json()
    stored = [_feedback(session, f"helpscout:rating:{n}") for n in (5434, 5435, 5436)]
    assert [(item.value, item.employee_id, item.ticket_ref) for item in stored] == [
        (3.0, sam.id, "helpscout:1560011"), (2.0, sam.id, "helpscout:1560011"), (1.0, sam.id, "helpscout:1560011")]
    assert stored[0].comment == "he was really helpful" and stored[0].respondent_ref
    refused = deliver("helpscout", {"id": 5437, "ticketId": 1560011, "rating": "Meh"})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"rating": ["'Meh' is not Great, Okay or Bad"]}


def test_help_scout_ratings_report_records(deliver, session, create_employee, shared_data):
    """The happiness ratings report, as the Singer tap's schema in ../shared/data has it: rating_id is the
    rating (1 Great, 2 Okay, 3 Not Good), so two Great ratings are two items, not one rating seen twice."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((shared_data / "payloads" / "json_schemas"
                         / "tap_helpscout_1.2.2__happiness_ratings_report.json").read_text())
    sam = create_employee("Sam", identities=[("helpscout", "44")])
    records = [{"conversation_id": 901, "thread_id": 11, "thread_created_at": "2026-11-02T09:30:00Z",
                "rating_id": 1, "rating_customer_id": 7, "rating_customer_name": "Jo", "rating_comments": "quick",
                "rating_created_at": "2026-11-02T10:00:00Z", "rating_user_id": 44, "rating_user_name": "Sam",
                "type": "email"},
               {"conversation_id": 902, "thread_id": 12, "rating_id": 1, "rating_customer_id": 8,
                "rating_created_at": "2026-11-02T11:00:00Z", "rating_user_id": 44, "type": "chat"},
               {"conversation_id": 903, "thread_id": None, "rating_id": 3, "rating_customer_id": 9,
                "rating_created_at": "2026-11-02T12:00:00Z", "rating_user_id": 44, "type": "phone"}]
    for record in records:
        jsonschema.validate(record, schema)
    response = deliver("helpscout", records)
    assert response.status_code == 200 and response.get_json()["ratings"]["created"] == 3, response.get_json()
    stored = session.execute(select(Feedback.external_id, Feedback.value, Feedback.employee_id)
                             .order_by(Feedback.external_id)).all()
    assert stored == [("helpscout:rating:901-thread-11", 3.0, sam.id), ("helpscout:rating:902-thread-12", 3.0, sam.id),
                      ("helpscout:rating:903-at-20261102T120000", 1.0, sam.id)]
    assert deliver("helpscout", records).get_json()["ratings"]["duplicates"] == 3  # a replay adds nothing
    bad = deliver("helpscout", {**records[0], "rating_id": 4})
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {"rating_id": ["4 is not 1 (Great), 2 (Okay) or 3 (Not Good)"]}


def test_generic_format(deliver, session, create_employee):
    ann = create_employee("Ann", identities=[("email", "ann@example.com")])
    body = {"provider": "ourdesk", "ticket": {"id": "T-9", "opened_at": "2026-11-01T09:00:00Z",
                                              "first_response_at": "2026-11-01T09:30:00Z",
                                              "resolved_at": "2026-11-01T12:00:00Z", "status": "solved",
                                              "assignee": {"provider": "email", "id": "ann@example.com"}},
            "ratings": [{"response_id": "ourdesk:r-1", "kind": "csat", "rating": 5,
                         "answered_at": "2026-11-01T13:00:00Z", "ticket_id": "ourdesk:T-9",
                         "agent": {"provider": "email", "id": "ann@example.com"}}]}
    response = deliver("generic", body)
    assert response.status_code == 200 and response.get_json()["ratings"]["created"] == 1
    assert stored_ticket(session, "ourdesk", "T-9").assignee_id == ann.id
    assert _feedback(session, "ourdesk:r-1").employee_id == ann.id


@pytest.mark.parametrize("provider", ["zendesk", "freshdesk", "chatwoot", "zammad", "helpscout", "generic"])
def test_bad_signature_is_401_and_stores_nothing(app, deliver, provider, caplog):
    before = row_counts(app)
    body = {"ticket": {"id": "1", "subject": "x", "status": "open", "number": "1"}}
    caplog.set_level(logging.WARNING, logger="channels.post_ticket_survey.blueprint")
    response = deliver(provider, body, secret="not-the-secret")  # (creates the integration first)
    assert response.status_code == 401
    # logged for the operator who replaced a secret and wonders why nothing arrives, without the secret
    (logged,) = [r.getMessage() for r in caplog.records if "refused with 401" in r.getMessage()]
    assert logged.startswith("helpdesk delivery to integration ") and "not-the-secret" not in logged
    after = row_counts(app)
    assert after.pop("integrations") == before.pop("integrations") + 1 and after == before


def test_a_refused_signature_says_what_was_wrong(client, integration):
    """Every Zendesk refusal said 'signature does not match', though the timestamp header was missing or
    stale; a Freshdesk secret put in ?token= did not say it belongs in the header."""
    zendesk, freshdesk = integration("zendesk"), integration("freshdesk")
    body = json.dumps({"id": 1, "ticket_id": 5, "score": "good"}).encode()
    headers, _ = signed("zendesk", body)

    def refusal(target, sent_headers, query=""):
        response = client.post(f"/channels/post_ticket_survey/webhooks/{target.id}{query}", data=body,
                               headers={**sent_headers, "Content-Type": "application/json"})
        assert response.status_code == 401
        return response.get_json()["message"]

    stamp = "X-Zendesk-Webhook-Signature-Timestamp"
    assert refusal(zendesk, {k: v for k, v in headers.items() if k != stamp}).startswith(f"{stamp} is missing")
    old = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert refusal(zendesk, {**headers, stamp: old}).startswith(f"{stamp} is 10 minutes old")
    assert refusal(zendesk, {**headers, stamp: "yesterday"}) == f"{stamp} 'yesterday' is not an ISO 8601 time"
    assert refusal(zendesk, {**headers, "X-Zendesk-Webhook-Signature": "AAAA"}).startswith("signature does not match")
    assert refusal(freshdesk, {}, f"?token={SECRET}") == (
        "X-Plaudit-Token is missing: send the secret in that header (a ?token= in the URL is refused: URLs end "
        "up in logs)")


def test_rating_fields_at_fault_are_the_ones_sent(deliver):
    wrong_time = deliver("zendesk", {"id": 2, "ticket_id": 5, "score": "good", "created_at": "yesterday"})
    assert wrong_time.get_json()["errors"] == {"created_at": ["'yesterday' is not a date and time"]}
    off_scale = deliver("freshdesk", {"id": 3, "ticket_id": 5, "ratings": {"default_question": 5}})
    assert off_scale.get_json()["errors"] == {"ratings.default_question": [
        "5 is not a Freshdesk rating: one of -103, -102, -101, 100, 101, 102, 103"]}
    chatwoot = deliver("chatwoot", {"event": "message_updated", "id": 120, "content_type": "input_csat",
                                    "conversation": {"id": 7}, "created_at": "2026-11-02T10:00:00Z",
                                    "content_attributes": {"submitted_values": {"csat_survey_response": {
                                        "rating": 9}}}})
    assert chatwoot.status_code == 422  # its message in words, not a Python list's text
    assert chatwoot.get_json()["errors"] == {"rating chatwoot:rating:120: rating": [
        "must be between 1 and 5 on this csat scale"]}


def test_malformed_bodies_are_422_naming_the_field_and_store_nothing(app, deliver):
    deliver("zendesk", {"id": 1, "ticket_id": 5, "score": "good", "assignee_id": 1})  # creates the integration
    before = row_counts(app)
    cases = [
        ("zendesk", {"id": 2, "ticket_id": 5, "score": "meh"}, "score"),
        ("zendesk", b"{not json", "body"),
        ("zendesk", {"satisfaction_rating": {"ticket_id": 5, "score": "good"}}, "satisfaction_rating.id"),
        ("generic", {"ticket": {"id": "T", "opened_at": "2026-11-01T10:00:00Z",
                                "resolved_at": "2026-11-01T09:00:00Z"}}, "ticket T: resolved_at"),
        ("chatwoot", {"id": 3}, "event"),
    ]
    for provider, body, field in cases:
        response = deliver(provider, body)
        assert response.status_code == 422, (provider, body)
        assert field in response.get_json()["errors"], response.get_json()
    after = row_counts(app)
    after.pop("integrations"), before.pop("integrations")  # made on each provider's first delivery
    assert after == before


def test_integrations_command_creates_a_secret_shown_once(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["integrations", "create", "zendesk", "Zendesk EU"])
    assert result.exit_code == 0, result.output
    stored = session.scalar(select(Integration))
    assert f"secret: {stored.webhook_secret}" in result.stdout
    assert f"/channels/post_ticket_survey/webhooks/{stored.id}" in result.stdout
    assert stored.webhook_secret not in runner.invoke(args=["integrations", "list"]).output


def test_chatwoot_csat_answer_arrives_as_a_message_update(deliver, session, shared_data, create_employee):
    john = create_employee("John", identities=[("chatwoot", "1")])
    update = json.loads(payload(shared_data, "chatwoot/chatwoot_docs_message_created.json"))
    update.update(event="message_updated", id=120, content_type="input_csat", message_type="outgoing",
                  content_attributes={"submitted_values": {"csat_survey_response": {"rating": 2}}})
    assert deliver("chatwoot", update).status_code == 200
    assert _feedback(session, "chatwoot:rating:120").employee_id == john.id


def test_an_integration_can_take_the_secret_the_helpdesk_made(app, session):
    result = app.test_cli_runner().invoke(args=["integrations", "create", "zendesk", "ZD", "--helpdesk-secret"],
                                          input="dGhlIHplbmRlc2sgc2VjcmV0IGtleQ\n")
    assert result.exit_code == 0, result.output
    assert "dGhlIHplbmRlc2sgc2VjcmV0IGtleQ" not in result.stdout.replace("The helpdesk's signing secret: ", "")
    assert session.scalar(select(Integration.webhook_secret)) == "dGhlIHplbmRlc2sgc2VjcmV0IGtleQ"


def test_last_public_replier_is_kept_and_offered_to_the_policy(make_app, shared_data):
    """Under a policy that credits the last public replier, a rating goes to them, not to the assignee."""
    from core.db import transaction
    from core.models import Employee, EmployeeIdentity

    app = make_app(ATTRIBUTION_POLICY=["last_public_replier", "assignee_at_rating"])
    with app.app_context(), transaction() as setup:
        replier = Employee(name="Ria", identities=[EmployeeIdentity(provider="freshdesk", external_id="501")])
        setup.add_all([replier, Employee(name="Asa", identities=[EmployeeIdentity(provider="freshdesk",
                                                                                  external_id="77")]),
                       Integration(provider="freshdesk", name="FD", webhook_secret=SECRET)])
        setup.flush()
        replier_id, integration_id = replier.id, setup.scalar(select(Integration.id))
    client = app.test_client()

    def send(body):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return client.post(f"/channels/post_ticket_survey/webhooks/{integration_id}", data=raw,
                           headers={"X-Plaudit-Token": SECRET, "Content-Type": "application/json"})

    assert send(payload(shared_data, "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json")
                ).status_code == 200
    with app.app_context(), transaction() as check:
        assert check.scalar(select(Ticket.last_public_replier).where(Ticket.external_id == "2001")) == \
            "freshdesk:501"  # the agent's public reply, not the later private note
    rating = {"id": 31, "agent_id": 77, "ticket_id": 2001, "created_at": "2024-01-05T10:00:00Z",
              "ratings": {"default_question": 103}}
    assert send(rating).status_code == 200
    with app.app_context(), transaction() as check:
        assert check.execute(select(Feedback.employee_id, Feedback.attribution_policy).where(
            Feedback.external_id == "freshdesk:rating:31")).one() == (replier_id, "last_public_replier")


def test_a_generic_integration_writes_only_inside_its_namespace(app, deliver, session):
    """A generic secret must not reach another helpdesk's tickets, a Plaudit survey, or the subject basis."""
    before = row_counts(app)
    deliver("generic", {"provider": "ourdesk"})  # makes the integration
    cases = [
        ({"provider": "zendesk", "ticket": {"id": "1", "status": "closed"}}, "provider"),
        ({"ratings": [{"response_id": "pts-invitation-4-csat", "kind": "csat", "rating": 1,
                       "answered_at": "2026-11-01T13:00:00Z"}]}, "ratings.0.response_id"),
        ({"ratings": [{"response_id": "ourdesk:r", "kind": "csat", "rating": 1, "ticket_id": "zendesk:1",
                       "answered_at": "2026-11-01T13:00:00Z"}]}, "ratings.0.ticket_id"),
        ({"ratings": [{"response_id": "ourdesk:r", "kind": "csat", "rating": 1, "agent_basis": "subject",
                       "answered_at": "2026-11-01T13:00:00Z", "agent": {"provider": "email", "id": "a@b.c"}}]},
         "ratings.0.agent_basis"),
    ]
    for body, field_name in cases:
        response = deliver("generic", body)
        assert response.status_code == 422 and field_name in response.get_json()["errors"], response.get_json()
    after = row_counts(app)
    after.pop("integrations"), before.pop("integrations")
    assert after == before


def test_zendesk_replays_outside_five_minutes_and_freshdesk_url_tokens_are_refused(client, integration):
    zendesk = integration("zendesk")
    body = b'{"id": 1, "ticket_id": 5, "score": "good"}'
    stamp = "2026-01-01T10:00:00Z"  # captured long ago
    signature = base64.b64encode(hmac.new(SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest())
    replay = client.post(f"/channels/post_ticket_survey/webhooks/{zendesk.id}", data=body, headers={
        "X-Zendesk-Webhook-Signature": signature.decode(), "X-Zendesk-Webhook-Signature-Timestamp": stamp})
    assert replay.status_code == 401
    freshdesk = integration("freshdesk")
    in_url = client.post(f"/channels/post_ticket_survey/webhooks/{freshdesk.id}?token={SECRET}", json={"id": 1})
    assert in_url.status_code == 401


def test_a_requester_address_listing_two_people_is_not_mailed():
    from channels.post_ticket_survey.helpdesks.base import single_address

    assert single_address("ann@example.com") == "ann@example.com"
    for bad in ("ann@example.com, eve@example.org", "Ann <ann@example.com>", "not-an-address", None, 42):
        assert single_address(bad) is None


# --- survey invitations for the real payloads ----------------------------------------------------------------

@pytest.mark.parametrize(("provider", "solved", "not_solved"), [
    ("zendesk", ["solved", "closed"], ["new", "open", "pending", "hold"]),
    ("freshdesk", ["resolved", "closed"], ["open", "pending", "6"]),
    ("chatwoot", ["resolved"], ["open", "pending", "snoozed"]),
    ("zammad", ["closed"], ["new", "open", "pending reminder", "merged", "removed"]),
    ("helpscout", ["closed"], ["active", "pending", "spam"]),
    ("generic", ["solved", "Resolved", "closed"], ["open", "pending", "done"]),
])
def test_each_helpdesk_says_which_statuses_are_solved(provider, solved, not_solved):
    from channels.post_ticket_survey.helpdesks import HELPDESKS

    helpdesk = HELPDESKS[provider]
    assert [status for status in [*solved, None] if helpdesk.solved_now(status)] == [*solved, None]
    assert [status for status in not_solved if helpdesk.solved_now(status)] == []
