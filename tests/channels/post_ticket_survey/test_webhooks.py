"""Helpdesk webhooks: every real payload in ../shared/data/payloads, signed as its helpdesk signs."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from channels.post_ticket_survey.models import Invitation
from core.models import EmployeeIdentity, Feedback, Integration, Ticket, utcnow
from tests.fixtures.app import row_counts

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


def _payload(shared_data, name: str) -> bytes:
    return (shared_data / "payloads" / name).read_bytes()


def _ticket(session, provider, external_id) -> Ticket:
    session.expire_all()
    return session.scalar(select(Ticket).where(Ticket.provider == provider, Ticket.external_id == str(external_id)))


def _feedback(session, external_id) -> Feedback:
    session.expire_all()
    return session.scalar(select(Feedback).where(Feedback.external_id == external_id))


def test_zendesk_payloads(deliver, session, shared_data, create_employee):
    rater = create_employee("Rita", identities=[("zendesk", "135")])
    evented = create_employee("Eve", identities=[("zendesk", "87374")])
    auditor = create_employee("Aud", identities=[("zendesk", "1276936927")])
    owner = create_employee("Face Toe", email="facetoe@facetoe.com.au")  # known to Plaudit by e-mail only

    user = deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_user.json"))
    assert user.status_code == 200 and user.get_json()["agents_mapped"] == 1  # the agent account, by e-mail

    response = deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_satisfaction_rating.json"))
    assert response.status_code == 200, response.get_json()
    rating = _feedback(session, "zendesk:rating:35436")
    assert (rating.employee_id, rating.value, rating.scale_min, rating.scale_max, rating.ticket_ref) == (
        rater.id, 1.0, 0.0, 1.0, "zendesk:208")
    assert rating.attribution_policy == "assignee_at_rating"

    assert deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_satisfaction_rating_event.json")
                   ).status_code == 200
    event = _feedback(session, "zendesk:rating:event-1274")
    assert (event.employee_id, event.value, event.comment) == (evented.id, 1.0, "Thanks, you guys are great!")

    assert deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_ticket.json")).status_code == 200
    ticket = _ticket(session, "zendesk", 1)
    assert (ticket.assignee_id, ticket.status, ticket.category) == (owner.id, "pending", "incident")
    assert [a.employee_id for a in ticket.assignments] == [owner.id]

    assert deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_ticket_audit.json")).status_code == 200
    assert _ticket(session, "zendesk", 7).assignee_id == auditor.id

    assert deliver("zendesk", _payload(shared_data, "zendesk/zenpy_betamax_ticket_create_response.json")
                   ).status_code == 200
    assert _ticket(session, "zendesk", 4016).assignee_id is None  # created unassigned

    assert deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_ticket_metric.json")).status_code == 200
    metric = _ticket(session, "zendesk", 4343)
    assert metric.first_response_at == datetime(2009, 7, 22, 14, 46, 29, tzinfo=UTC)  # created + 2391 min
    assert metric.resolved_at == datetime(2011, 5, 9, 10, 38, 52, tzinfo=UTC)

    again = deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_user.json"))
    assert again.get_json()["agents_mapped"] == 0  # mapped once, never re-mapped
    assert session.scalar(select(EmployeeIdentity.employee_id).where(
        EmployeeIdentity.provider == "zendesk", EmployeeIdentity.external_id == "1159307768")) == owner.id
    for name in ("zenpy_spec_group.json", "zenpy_spec_webhook.json", "zenpy_spec_tweet_event.json",
                 "zenpy_spec_ticket_metric_event.json"):
        answer = deliver("zendesk", _payload(shared_data, f"zendesk/{name}"))
        assert answer.status_code == 200 and answer.get_json()["ignored"], name


def test_zendesk_export_records_offered_ratings_never_count(deliver, session, shared_data):
    lines = _payload(shared_data, "zendesk/airbyte_zendesk_sandbox_expected_records_excerpt.jsonl").splitlines()
    answers = [deliver("zendesk", line) for line in lines]
    assert [a.status_code for a in answers] == [200] * len(lines)
    assert sum("offered, not answered" in " ".join(a.get_json()["ignored"]) for a in answers) == 3
    assert session.scalar(select(Feedback).where(Feedback.channel == "post_ticket_survey")) is None


def test_freshdesk_payloads(deliver, session, shared_data, create_employee):
    replier = create_employee("Ria", identities=[("freshdesk", "501")])
    responder = create_employee("Ron", identities=[("freshdesk", "6010396333")])
    lister = create_employee("Lis", identities=[("freshdesk", "5004272350")])
    agent = create_employee("Abc", email="abc@xyz.com")

    assert deliver("freshdesk", _payload(
        shared_data, "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json")).status_code == 200
    ticket = _ticket(session, "freshdesk", 2001)
    assert ticket.assignee_id == replier.id and ticket.status == "resolved"
    # the agent's public reply at 08:00 counts; the private note at 09:00 would not
    assert ticket.first_response_at == datetime(2024, 1, 3, 8, 0, tzinfo=UTC)

    assert deliver("freshdesk", _payload(shared_data, "freshdesk/python_freshdesk_ticket_1.json")).status_code == 200
    assert _ticket(session, "freshdesk", 1).assignee_id == responder.id
    for name in ("python_freshdesk_all_tickets.json", "python_freshdesk_search_tickets.json"):
        assert deliver("freshdesk", _payload(shared_data, f"freshdesk/{name}")).status_code == 200
    # snapshots arrive out of order (updated 2015, 2016, then 2015 and 2020 in the search results): the
    # history keeps time order and the newest observation holds the ticket
    one = _ticket(session, "freshdesk", 1)
    assert [a.employee_id for a in one.assignments] == [lister.id, responder.id, lister.id]
    assert one.assignee_id == lister.id

    notes = deliver("freshdesk", _payload(shared_data, "freshdesk/python_freshdesk_conversations.json"))
    # a private note at 05:36:12, then the public reply at 05:36:14: only the reply is a first response
    assert notes.status_code == 200
    assert _ticket(session, "freshdesk", 1).first_response_at == datetime(2016, 5, 19, 5, 36, 14, tzinfo=UTC)

    assert deliver("freshdesk", _payload(shared_data, "freshdesk/python_freshdesk_agents.json")
                   ).get_json()["agents_mapped"] == 1
    assert session.scalar(select(EmployeeIdentity.employee_id).where(
        EmployeeIdentity.provider == "freshdesk", EmployeeIdentity.external_id == "1")) == agent.id
    assert deliver("freshdesk", _payload(shared_data, "freshdesk/python_freshdesk_groups.json")
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
        assert deliver("chatwoot", _payload(shared_data, f"chatwoot/{name}")).status_code == 200, name
    conversation = _ticket(session, "chatwoot", 10)
    assert (conversation.assignee_id, conversation.status) == (john.id, "resolved")
    assert conversation.resolved_at == datetime.fromtimestamp(1627063520, UTC)

    csat = json.loads(_payload(shared_data, "chatwoot/chatwoot_docs_message_created.json"))
    csat.update(id=119, content_type="input_csat", message_type="outgoing", content_attributes={
        "submitted_values": {"csat_survey_response": {"rating": 4, "feedback_message": "Quick!"}}})
    assert deliver("chatwoot", csat).status_code == 200
    answer = _feedback(session, "chatwoot:rating:119")
    assert (answer.employee_id, answer.value, answer.scale_max, answer.comment) == (john.id, 4.0, 5.0, "Quick!")


def test_zammad_payloads(deliver, session, shared_data, create_employee):
    emma = create_employee("Emma", identities=[("zammad", "5")])
    chris = create_employee("Chris", identities=[("zammad", "3")])
    assert deliver("zammad", _payload(shared_data, "zammad/zammad_admin_docs_webhook_default_payload.json")
                   ).status_code == 200
    ticket = _ticket(session, "zammad", 81)
    assert (ticket.assignee_id, ticket.category) == (emma.id, "Service Desk")
    assert ticket.first_response_at is None  # the article is the customer's
    assert deliver("zammad", _payload(shared_data, "zammad/zammad_api_docs_ticket_list_response.json")
                   ).status_code == 200
    assert _ticket(session, "zammad", 1).assignee_id is None  # owner 1 is Zammad's "nobody"
    assert _ticket(session, "zammad", 2).assignee_id == chris.id
    # A list gives only state ids: Zammad's default 4 is "closed", solved (it was stored as "4", solved never).
    states = {t.external_id: (t.status, t.resolved_at is not None) for t in (_ticket(session, "zammad", n)
                                                                             for n in (1, 2))}
    assert states == {"1": ("new", False), "2": ("closed", True)}


def test_help_scout_faces(deliver, session, create_employee):
    sam = create_employee("Sam", identities=[("helpscout", "44")])
    for rating_id, face in ((1, "Great"), (2, "Okay"), (3, "Not Good")):
        report = {"conversation_id": 900 + rating_id, "rating_id": rating_id, "rating_customer_id": 7,
                  "rating_comments": None, "rating_created_at": "2024-02-01T09:00:00Z", "rating_user_id": 44,
                  "rating": face}
        assert deliver("helpscout", report).status_code == 200
    values = [(_feedback(session, f"helpscout:rating:{n}").value, _feedback(session, f"helpscout:rating:{n}")
               .employee_id) for n in (1, 2, 3)]
    assert values == [(3.0, sam.id), (2.0, sam.id), (1.0, sam.id)]


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
    assert _ticket(session, "ourdesk", "T-9").assignee_id == ann.id
    assert _feedback(session, "ourdesk:r-1").employee_id == ann.id


@pytest.mark.parametrize("provider", ["zendesk", "freshdesk", "chatwoot", "zammad", "helpscout", "generic"])
def test_bad_signature_is_401_and_stores_nothing(app, deliver, provider):
    before = row_counts(app)
    body = {"ticket": {"id": "1", "subject": "x", "status": "open", "number": "1"}}
    response = deliver(provider, body, secret="not-the-secret")  # (creates the integration first)
    assert response.status_code == 401
    after = row_counts(app)
    assert after.pop("integrations") == before.pop("integrations") + 1 and after == before


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
    update = json.loads(_payload(shared_data, "chatwoot/chatwoot_docs_message_created.json"))
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

    assert send(_payload(shared_data, "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json")
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

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_UNIX_KEYS = {"created_at", "updated_at", "timestamp"}


def _shifted(data, delta: timedelta, key: str | None = None):
    """A payload as if it had happened ``delta`` later: every timestamp moves alike, so its timings agree."""
    if isinstance(data, dict):
        return {k: _shifted(v, delta, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_shifted(item, delta, key) for item in data]
    if isinstance(data, str) and _ISO.match(data):
        return (datetime.fromisoformat(data) + delta).isoformat()
    if key in _UNIX_KEYS and isinstance(data, int) and not isinstance(data, bool) and data > 10 ** 9:
        return data + int(delta.total_seconds())
    return data


def _recent(shared_data, name: str, solved_at: datetime, **changes) -> dict:
    """The payload ``name`` as if it had been solved (at ``solved_at``) a day ago, with ``changes``."""
    data = _shifted(json.loads(_payload(shared_data, name)), utcnow() - timedelta(days=1) - solved_at)
    return {**data, **changes}


ZENDESK_METRIC_SOLVED = datetime(2011, 5, 9, 10, 38, 52, tzinfo=UTC)
CHATWOOT_RESOLVED = datetime.fromtimestamp(1627063520, UTC)
FRESHDESK_2001_RESOLVED = datetime(2024, 1, 4, 12, 30, tzinfo=UTC)  # its updated_at: it has no stats
FRESHDESK_1_RESOLVED = datetime(2020, 7, 24, 15, 35, 21, tzinfo=UTC)  # stats.resolved_at, though open


def test_no_invitation_for_real_tickets_solved_long_ago_or_open_now(deliver, session, shared_data):
    """The ops walkthrough: each of these was surveyed, years after the solve or while the ticket was open."""
    cases = [
        ("freshdesk", "freshdesk/python_freshdesk_ticket_1.json", "1", "the ticket is 'open' now, not solved"),
        ("freshdesk", "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json", "2001",
         "solved 2024-01-04 12:30 UTC, more than 14 days ago"),
        ("zendesk", "zendesk/zenpy_spec_ticket_metric.json", "4343",
         "solved 2011-05-09 10:38 UTC, more than 14 days ago"),
        ("chatwoot", "chatwoot/chatwoot_docs_conversation_resolved.json", "10",
         "solved 2021-07-23 18:05 UTC, more than 14 days ago"),
    ]
    for provider, name, ticket, reason in cases:
        answer = deliver(provider, _payload(shared_data, name))
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["invitations"] == [], name
        assert answer.get_json()["not_invited"] == [{"ticket": ticket, "reason": reason}], name
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert _ticket(session, "freshdesk", 1).resolved_at == FRESHDESK_1_RESOLVED  # its timings are kept all the same


def test_the_same_real_tickets_solved_yesterday_are_invited_unless_open(deliver, session, shared_data):
    invited = {}
    for provider, name, solved_at in (
            ("freshdesk", "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations.json",
             FRESHDESK_2001_RESOLVED),
            ("zendesk", "zendesk/zenpy_spec_ticket_metric.json", ZENDESK_METRIC_SOLVED),  # no status: solved
            ("chatwoot", "chatwoot/chatwoot_docs_conversation_resolved.json", CHATWOOT_RESOLVED)):
        answer = deliver(provider, _recent(shared_data, name, solved_at)).get_json()
        invited[provider] = [(i["ticket"], i["delivery"]) for i in answer["invitations"]]
        assert answer["not_invited"] == [], name
    assert invited == {"freshdesk": [("2001", "link")], "zendesk": [("4343", "link")], "chatwoot": [("10", "link")]}

    # Freshdesk's ticket 1 is open (status 2) though stats.resolved_at says when it was resolved before.
    reopened = _recent(shared_data, "freshdesk/python_freshdesk_ticket_1.json", FRESHDESK_1_RESOLVED)
    answer = deliver("freshdesk", reopened).get_json()
    assert answer["invitations"] == []
    assert answer["not_invited"] == [{"ticket": "1", "reason": "the ticket is 'open' now, not solved"}]
    pending = deliver("freshdesk", {**reopened, "status": 3}).get_json()
    assert pending["not_invited"] == [{"ticket": "1", "reason": "the ticket is 'pending' now, not solved"}]
    later = (utcnow() - timedelta(hours=1)).isoformat()
    solved = deliver("freshdesk", {**reopened, "status": 4, "updated_at": later}).get_json()  # resolved again
    assert [i["ticket"] for i in solved["invitations"]] == ["1"]
    assert session.scalar(select(func.count()).select_from(Invitation)) == 4


def test_no_second_survey_for_a_ticket_the_customer_rated_in_the_helpdesk(deliver, session, shared_data):
    answered = [{"ticket": "208", "reason": "it was surveyed already"}]
    # Zendesk: the real rating of ticket 208 first, then the ticket, solved yesterday.
    assert deliver("zendesk", _payload(shared_data, "zendesk/zenpy_spec_satisfaction_rating.json")
                   ).status_code == 200
    ticket = _recent(shared_data, "zendesk/zenpy_spec_ticket.json", datetime(2015, 7, 25, 2, 23, 13, tzinfo=UTC),
                     id=208, status="solved")
    answer = deliver("zendesk", ticket).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], answered)
    # Zendesk: the rating inside the ticket that reports the solve.
    rated = {**ticket, "id": 209, "satisfaction_rating": {"id": 35437, "score": "good", "assignee_id": 135,
                                                          "updated_at": ticket["updated_at"]}}
    answer = deliver("zendesk", rated).get_json()
    assert answer["ratings"]["created"] == 1
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "209"}])

    # Zendesk sent its own survey, not answered yet ("offered"): inside the ticket, or on its own before it.
    offered = {**ticket, "id": 210, "satisfaction_rating": {"id": 35438, "score": "offered",
                                                            "updated_at": ticket["updated_at"]}}
    answer = deliver("zendesk", offered).get_json()
    assert answer["ratings"]["created"] == 0 and "rating 35438 was offered, not answered" in answer["ignored"]
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "210"}])
    assert session.scalar(select(Ticket.survey_seen_at).where(Ticket.external_id == "210")) is not None
    # On its own, about a ticket stored already (unsolved yet): the solve that follows invites nobody.
    deliver("zendesk", {**ticket, "id": 211, "status": "open"})
    assert deliver("zendesk", {"id": 35439, "score": "offered", "ticket_id": 211,
                               "updated_at": ticket["updated_at"]}).status_code == 200
    answer = deliver("zendesk", {**ticket, "id": 211}).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "211"}])

    # Freshdesk: the customer rated ticket 2001 in Freshdesk before its solve reached Plaudit.
    assert deliver("freshdesk", {"id": 9, "agent_id": 501, "ticket_id": 2001, "created_at": utcnow().isoformat(),
                                 "ratings": {"default_question": 103}}).status_code == 200
    answer = deliver("freshdesk", _recent(shared_data, "freshdesk/chatwoot_fixture_freshdesk_ticket_with_conversations"
                                          ".json", FRESHDESK_2001_RESOLVED)).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "2001"}])

    # Chatwoot: the CSAT answer to Chatwoot's own survey, then the conversation resolved.
    csat = json.loads(_payload(shared_data, "chatwoot/chatwoot_docs_message_created.json"))
    csat.update(id=119, content_type="input_csat", message_type="outgoing", content_attributes={
        "submitted_values": {"csat_survey_response": {"rating": 4, "feedback_message": "Quick!"}}})
    assert deliver("chatwoot", csat).get_json()["ratings"]["created"] == 1
    answer = deliver("chatwoot", _recent(shared_data, "chatwoot/chatwoot_docs_conversation_resolved.json",
                                         CHATWOOT_RESOLVED)).get_json()
    assert (answer["invitations"], answer["not_invited"]) == ([], [{**answered[0], "ticket": "10"}])
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0


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
