"""The one ingestion path: validate, normalise, attribute, store once, inspect, notify."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core import hookimpl
from core.db import transaction
from core.ingestion import ingest, respondent_ref
from core.models import ApiToken, AuditEntry, Feedback, Flag, User
from tests.fixtures.app import row_counts
from tests.fixtures.payloads import survey
from tests.fixtures.plugins import ChecksPlugin


@pytest.fixture
def agent(create_team, create_employee):
    team = create_team("Support EMEA")
    return create_employee("Ann Agent", team=team, identities=[("helpdesk", "101"), ("email", "ann@x.io")])


def test_valid_payload_is_stored_attributed_and_normalised(app, session, agent):
    report = ingest(session, "post_ticket_survey", [survey(comment="Great help")])
    session.commit()

    assert [(s.external_id, s.status, s.employee_id) for s in report.created] == [("r-1", "accepted", agent.id)]
    item = session.scalar(select(Feedback))
    assert (item.channel, item.kind, item.value, item.scale_min, item.scale_max) == (
        "post_ticket_survey", "csat", 5.0, 1.0, 5.0)
    assert item.employee_id == agent.id and item.team_id == agent.team_id
    assert item.attribution_policy == "assignee_at_solve"
    assert item.attributed_identity == "helpdesk:101"
    assert item.occurred_at.isoformat() == "2026-11-02T10:15:00+00:00"
    assert item.comment == "Great help" and item.ticket_ref == "T-1"


def test_respondent_is_stored_only_as_a_salted_hash(app, session, agent):
    ingest(session, "post_ticket_survey", [survey()])
    session.commit()
    item = session.scalar(select(Feedback))
    assert item.respondent_ref == respondent_ref("customer@example.com", app.config["RESPONDENT_SALT"])
    assert len(item.respondent_ref) == 64
    assert "example.com" not in str(item.payload).lower()


def test_same_item_twice_is_stored_once_and_answered_as_the_first(app, session, agent):
    first = ingest(session, "post_ticket_survey", [survey()])
    session.commit()
    again = ingest(session, "post_ticket_survey", [survey(rating=1)])
    session.commit()

    assert again.created == [] and again.rejected == []
    assert [(d.feedback_id, d.status, d.employee_id) for d in again.duplicates] == [
        (first.created[0].feedback_id, "accepted", agent.id)]
    assert session.scalar(select(func.count()).select_from(Feedback)) == 1
    assert session.scalar(select(Feedback.value)) == 5.0  # the replay changed nothing


def test_repeat_within_one_batch_counts_once(app, session, agent):
    report = ingest(session, "post_ticket_survey", [survey(), survey(), survey("r-2")])
    session.commit()
    assert [s.index for s in report.created] == [0, 2]
    assert [(d.index, d.feedback_id) for d in report.duplicates] == [(1, report.created[0].feedback_id)]


def test_invalid_payloads_name_the_fields_and_write_nothing(app, session, agent):
    before = row_counts(app)
    report = ingest(session, "post_ticket_survey", [
        survey(rating=9),
        survey(kind="happiness"),
        {"response_id": "r-3", "kind": "nps", "rating": 7, "answered_at": "2026-11-02T10:15:00"},
        survey(agent=None) | {"agent": {"provider": "helpdesk"}},
        ["not", "an", "object"],
    ])
    session.commit()

    errors = {r.index: r.errors for r in report.rejected}
    assert errors[0] == {"rating": ["must be between 1 and 5 on this csat scale"]}
    assert "kind" in errors[1]
    assert "answered_at" in errors[2]  # no timezone: ambiguous, refused
    assert errors[3] == {"agent": {"id": ["Missing data for required field."]}}
    assert "_schema" in errors[4]
    assert report.created == [] and report.duplicates == []
    assert row_counts(app) == before


def test_unknown_agent_is_kept_unattributed_with_the_identity_for_the_queue(app, session, agent):
    ingest(session, "post_ticket_survey", [survey(agent=("helpdesk", "999")), survey("r-2", agent=None)])
    session.commit()
    rows = session.execute(select(Feedback.external_id, Feedback.employee_id, Feedback.attribution_policy,
                                  Feedback.attributed_identity, Feedback.status).order_by(Feedback.id)).all()
    assert rows == [("r-1", None, None, "helpdesk:999", "accepted"), ("r-2", None, None, None, "accepted")]


def test_policy_order_decides_which_identity_attributes(make_app, create_employee):
    app = make_app(ATTRIBUTION_POLICY=["assignee_at_rating", "assignee_at_solve"])
    with app.app_context(), transaction() as session:
        create_employee("Ann", identities=[("helpdesk", "101")])
        rater = create_employee("Bob", identities=[("helpdesk", "202")])
        ingest(session, "post_ticket_survey", [
            survey("r-1", agent=("helpdesk", "202"), agent_basis="assignee_at_rating"),
            survey("r-2", agent=("helpdesk", "101"), agent_basis="assignee_at_solve")])
    with app.app_context(), transaction() as session:
        rows = session.execute(select(Feedback.external_id, Feedback.employee_id, Feedback.attribution_policy)
                               .order_by(Feedback.external_id)).all()
    assert rows[0] == ("r-1", rater.id, "assignee_at_rating")
    assert rows[1][2] == "assignee_at_solve"


def test_resolve_employee_hook_attributes_identities_the_kernel_does_not_know(make_app, create_employee):
    from core import hookimpl

    class Directory:
        @hookimpl
        def resolve_employee(self, provider, external_id):
            return directory.get((provider, external_id))

    directory = {}
    app = make_app(extra_plugins={"directory": Directory()})
    with app.app_context(), transaction() as session:
        ann = create_employee("Ann")
        directory[("helpdesk", "555")] = ann.id
        report = ingest(session, "post_ticket_survey", [survey(agent=("helpdesk", "555"))])
    assert report.created[0].employee_id == ann.id


def test_integrity_check_quarantines_and_flags(make_app):
    app = make_app(extra_plugins={"checks": ChecksPlugin()})
    with app.app_context(), transaction() as session:
        report = ingest(session, "post_ticket_survey", [survey("r-1", rating=1), survey("r-2", rating=5)])
    assert [(s.external_id, s.status) for s in report.created] == [("r-1", "quarantined"), ("r-2", "accepted")]
    with app.app_context(), transaction() as session:
        assert session.execute(select(Feedback.external_id, Feedback.status).order_by(Feedback.id)).all() == [
            ("r-1", "quarantined"), ("r-2", "accepted")]
        assert session.execute(select(Flag.check, Flag.reason)).all() == [("low_rating_check", "rated 1")]
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "flag.raised")).one()
        assert audit.after == {"feedback_id": report.created[0].feedback_id, "check": "low_rating_check",
                               "reason": "rated 1", "status": "quarantined"}
    again = _ingest_once(app, survey("r-1", rating=1))
    assert [(d.status) for d in again.duplicates] == ["quarantined"]  # a replay answers as the first did


def test_a_changed_answer_meets_the_checks_again(make_app):
    from core.ingestion import revise_feedback
    from core.models import utcnow

    app = make_app(extra_plugins={"checks": ChecksPlugin()})
    with app.app_context(), transaction() as session:
        ingest(session, "post_ticket_survey", [survey("r-1", rating=5)])
    with app.app_context(), transaction() as session:
        revise_feedback(session, "post_ticket_survey", "r-1", value=1, comment=None, occurred_at=utcnow())
    with app.app_context(), transaction() as session:
        assert session.execute(select(Feedback.status)).scalars().all() == ["quarantined"]
        assert session.execute(select(Flag.check)).scalars().all() == ["low_rating_check"]



def test_checks_see_each_item_as_stored_with_nothing_left_to_write(make_app):
    """The items a check inspects are the stored rows, payload included, and flushing them writes nothing."""
    from sqlalchemy import event, inspect

    from core.integrity import IntegrityCheck

    seen = {}

    class Snapshot(IntegrityCheck):
        name = "snapshot"
        title = "Snapshot"

        def inspect(self, session, feedback, params):
            for item in feedback:
                state = inspect(item)
                columns = {column.key for column in Feedback.__table__.columns}
                assert state.persistent and not state.modified and not state.unloaded & columns, item
                seen[item.external_id] = {column.key: getattr(item, column.key)
                                          for column in Feedback.__table__.columns}
            return []

    class Plugin:
        @hookimpl
        def register_integrity_checks(self):
            return [Snapshot]

    app = make_app(extra_plugins={"snapshot": Plugin()})
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context(), transaction() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        ingest(session, "post_ticket_survey", [survey("r-1", comment="Quick.", answered_via={"user_agent": "Mail"}),
                                               survey("r-2", rating=2, respondent=None)])
        session.flush()
        event.remove(engine, "before_cursor_execute", record)
    assert not [sql for sql in statements if sql.lstrip().upper().startswith("UPDATE FEEDBACK")]
    with app.app_context(), transaction() as session:
        stored = {item.external_id: {column.key: getattr(item, column.key) for column in Feedback.__table__.columns}
                  for item in session.scalars(select(Feedback))}
    for item in stored.values():  # announced once committed (the test app runs its jobs at once)
        assert item.pop("announced_at") is not None
    assert {external_id: {**columns, "announced_at": None} for external_id, columns in stored.items()} == seen
    assert stored["r-1"]["payload"]["answered_via"] == {"user_agent": "Mail", "invited_at": None}


def _ingest_once(app, payload):
    with app.app_context(), transaction() as session:
        return ingest(session, "post_ticket_survey", [payload])


def test_concurrent_deliveries_store_one_item(make_app, database, agent):
    """Eight workers deliver the same item at once: one stores it, seven hear "duplicate"."""
    app = make_app()
    workers = 8
    barrier = threading.Barrier(workers)
    reports, errors = [], []

    def deliver():
        try:
            with app.app_context():
                session = app.extensions["plaudit.db"].sessionmaker()
                try:
                    barrier.wait(timeout=30)
                    report = ingest(session, "post_ticket_survey", [survey("same")])
                    session.commit()
                    reports.append(report)
                finally:
                    session.close()
        except Exception as exc:  # noqa: BLE001 -- surfaced below; a thread's exception would vanish
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    created = [s for r in reports for s in r.created]
    duplicates = [d for r in reports for d in r.duplicates]
    assert len(created) == 1 and len(duplicates) == workers - 1
    assert {d.feedback_id for d in duplicates} == {created[0].feedback_id}
    with app.app_context(), transaction() as session:
        assert session.scalar(select(func.count()).select_from(Feedback)) == 1


def test_email_identities_match_whatever_the_case(app, session, create_employee):
    ann = create_employee("Ann", identities=[("email", "Ann@Example.com")])
    report = ingest(session, "post_ticket_survey", [survey(agent=("email", " ANN@example.COM"))])
    assert report.created[0].employee_id == ann.id


def test_identity_offered_under_a_basis_the_policy_ignores_is_kept_for_the_queue(make_app):
    app = make_app(ATTRIBUTION_POLICY=["assignee_at_solve"])
    with app.app_context(), transaction() as session:
        ingest(session, "post_ticket_survey", [survey(agent=("helpdesk", "7"), agent_basis="last_public_replier")])
    with app.app_context(), transaction() as session:
        assert session.execute(select(Feedback.employee_id, Feedback.attributed_identity)).one() == (
            None, "helpdesk:7")


def test_fractional_ratings_are_refused_not_truncated(app, session):
    report = ingest(session, "post_ticket_survey", [survey("a", rating=4.5), survey("b", rating=4.0),
                                                    survey("c", rating="5")])
    assert report.rejected[0].errors == {"rating": ["must be a whole number"]}
    assert sorted(s.external_id for s in report.created) == ["b", "c"]


def test_resolver_answers_are_asked_once_and_checked(make_app):
    from core import hookimpl

    asked = []

    class Directory:
        @hookimpl
        def resolve_employee(self, provider, external_id):
            asked.append(external_id)
            return 424242  # no such employee

    app = make_app(extra_plugins={"directory": Directory()})
    with app.app_context(), transaction() as session:
        report = ingest(session, "post_ticket_survey", [survey(str(i), agent=("helpdesk", "77")) for i in range(5)])
    assert asked == ["77"]
    assert {s.employee_id for s in report.created} == {None}  # stays unattributed rather than failing


def test_channel_output_that_breaks_the_contract_is_rejected_naming_the_channel(make_app):
    from datetime import datetime

    from core import hookimpl
    from core.channel import Channel, FeedbackDraft
    from tests.plugin_packages.plaudit_kudos.plaudit_kudos import KudosSchema

    class Sloppy(Channel):
        name, title, kinds, schema = "sloppy", "Sloppy", ("kudos",), KudosSchema

        def to_feedback(self, data):
            yield FeedbackDraft(kind="kudos", external_id=data["id"], occurred_at=datetime(2026, 1, 1),
                                value=7.0, scale=(0.0, 1.0), payload={"when": datetime(2026, 1, 1)})

    class Plugin:
        @hookimpl
        def register_channels(self):
            return [Sloppy]

    app = make_app(extra_plugins={"sloppy": Plugin()})
    with app.app_context(), transaction() as session:
        report = ingest(session, "sloppy", [{"id": "k", "to": "a@b.io", "sender": "x", "message": "hi",
                                             "sent_at": "2026-01-01T00:00:00Z"}])
    errors = report.rejected[0].errors
    assert set(errors) == {"occurred_at", "value", "payload"}
    assert "channel 'sloppy'" in errors["occurred_at"][0] and "outside the scale" in errors["value"][0]



def test_a_channel_that_raises_costs_that_payload_only_and_is_named(make_app, caplog, create_user):
    """A KeyError in a plugin's schema or to_feedback answered the whole batch with a 500, its good payloads
    unstored, and named no plugin."""
    from marshmallow import validates_schema

    from core import hookimpl
    from core.channel import Channel, FeedbackDraft
    from tests.plugin_packages.plaudit_kudos.plaudit_kudos import KudosSchema

    class FussySchema(KudosSchema):
        @validates_schema
        def look_up(self, data, **kwargs):
            {"hi": 1}[data["message"]]  # a bug: any other message raises KeyError

    class Buggy(Channel):
        name, title, kinds, schema = "buggy", "Buggy", ("kudos",), FussySchema

        def to_feedback(self, data):
            if data["id"].endswith("typed"):
                raise TypeError("unsupported operand")
            yield FeedbackDraft(kind="kudos", external_id=data["id"], occurred_at=data["sent_at"], value=1.0,
                                scale=(0.0, 1.0))

    class Plugin:
        @hookimpl
        def register_channels(self):
            return [Buggy]

    app = make_app(extra_plugins={"buggy": Plugin()})
    payloads = [{"id": ext, "to": "a@b.io", "sender": "x", "message": message, "sent_at": "2026-01-01T00:00:00Z"}
                for ext, message in (("fine", "hi"), ("keyed", "hello"), ("typed", "hi"))]
    with app.app_context(), transaction() as session:
        report = ingest(session, "buggy", payloads)
    assert [s.external_id for s in report.created] == ["fine"]
    assert {r.index: r.errors for r in report.rejected} == {
        1: {"_schema": [("channel 'buggy' failed on this payload (KeyError); the error is in its plugin, and the "
                        "log has its traceback")]},
        2: {"_schema": [("channel 'buggy' failed on this payload (TypeError); the error is in its plugin, and the "
                        "log has its traceback")]}}
    failures = [r for r in caplog.records if "channel 'buggy'" in r.getMessage()]
    assert [r.exc_info[0] for r in failures] == [KeyError, TypeError]

    bot = create_user("bot@example.com", roles=["admin"]).id
    with app.app_context(), transaction() as session:  # through the API: what it stored and refused, no 500
        token, plain = ApiToken.issue(session.get(User, bot), "bridge", ["feedback:write"])
        session.add(token)
    answer = app.test_client().post("/api/v1/channels/buggy/feedback/batch", headers={
        "Authorization": f"Bearer {plain}"}, json=[{**p, "id": f"api-{p['id']}"} for p in payloads])
    assert answer.status_code == 201, answer.get_json()
    assert [c["external_id"] for c in answer.get_json()["created"]] == ["api-fine"]
    assert [r["index"] for r in answer.get_json()["rejected"]] == [1, 2]


def test_identities_a_channel_gets_wrong_cost_that_payload_only(make_app, create_employee):
    """A tuple for an IdentityRef, or a basis misspelled, is refused naming the field; the rest of the batch is
    stored and attributed (before, the tuple failed the whole batch in attribution)."""
    from core import hookimpl
    from core.channel import Channel, FeedbackDraft, IdentityRef
    from tests.plugin_packages.plaudit_kudos.plaudit_kudos import KudosSchema

    class Careless(Channel):
        name, title, kinds, schema = "careless", "Careless", ("kudos",), KudosSchema

        def to_feedback(self, data):
            offered = {"tuple": {"subject": ("email", data["to"])}, "typo": {"subjct": IdentityRef("email", data["to"])},
                       "list": {"subject": [IdentityRef("email", "nobody@b.io"), IdentityRef("email", data["to"])]},
                       }[data["id"]]
            yield FeedbackDraft(kind="kudos", external_id=data["id"], occurred_at=data["sent_at"], value=1.0,
                                scale=(0.0, 1.0), identities=offered)

    class Plugin:
        @hookimpl
        def register_channels(self):
            return [Careless]

    app = make_app(extra_plugins={"careless": Plugin()})
    ann = create_employee("Ann", identities=[("email", "ann@b.io")])
    payloads = [{"id": ext, "to": "ann@b.io", "sender": "x", "message": "hi", "sent_at": "2026-01-01T00:00:00Z"}
                for ext in ("tuple", "typo", "list")]
    with app.app_context(), transaction() as session:
        report = ingest(session, "careless", payloads)
    rejected = {r.index: r.errors for r in report.rejected}
    assert set(rejected) == {0, 1} and all(set(errors) == {"identities"} for errors in rejected.values())
    assert "offered tuple under 'subject'" in rejected[0]["identities"][0]
    assert "'subjct', which is not an attribution basis" in rejected[1]["identities"][0]
    assert [(s.external_id, s.employee_id) for s in report.created] == [("list", ann.id)]

def test_an_item_from_the_future_or_before_1900_is_rejected(make_app):
    """A rating answered in 2099 sat at the top of every newest-first list and counted in a period to come."""
    from datetime import UTC, datetime, timedelta

    app = make_app()
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()  # another clock or time zone: accepted
    with app.app_context(), transaction() as session:
        report = ingest(session, "post_ticket_survey", [
            survey("future", answered_at="2099-11-24T15:42:10Z"), survey("ancient", answered_at="1800-11-24T15:42:10Z"),
            survey("soon", answered_at=soon)])
    assert [s.external_id for s in report.created] == ["soon"]
    # named as the sender named it: answered_at, not the kernel's occurred_at
    assert {r.index: list(r.errors) for r in report.rejected} == {0: ["answered_at"], 1: ["answered_at"]}
    assert "give one from 1900 up to a day past now" in report.rejected[0].errors["answered_at"][0]


def test_batches_overlapping_in_opposite_orders_do_not_deadlock(make_app, database):
    """Two writers, the same 300 ids, one reversed: both finish, each id stored once."""
    app = make_app()
    forward = [survey(f"id-{n:03d}") for n in range(300)]
    results, errors = [], []
    barrier = threading.Barrier(2)

    def deliver(payloads):
        try:
            with app.app_context():
                session = app.extensions["plaudit.db"].sessionmaker()
                try:
                    barrier.wait(timeout=30)
                    results.append(ingest(session, "post_ticket_survey", payloads))
                    session.commit()
                finally:
                    session.close()
        except Exception as exc:  # noqa: BLE001 -- surfaced below
            errors.append(exc)

    for _ in range(10):  # before the fix, 4 runs in 10 deadlocked
        results.clear()
        threads = [threading.Thread(target=deliver, args=(p,)) for p in (forward, forward[::-1])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        with app.app_context(), transaction() as session:
            assert session.scalar(select(func.count()).select_from(Feedback)) == 300
        database.clear()


def test_whole_numbers_written_as_decimals_are_accepted(app, session):
    report = ingest(session, "post_ticket_survey", [survey("a", rating="3.0"), survey("b", rating="x")])
    assert [s.external_id for s in report.created] == ["a"]
    assert report.rejected[0].errors == {"rating": ["Not a valid integer."]}


def test_items_are_linked_to_the_ticket_they_name_whichever_arrives_first(app):
    from core.models import Ticket
    from core.tickets import TicketUpdate, upsert_tickets

    with app.app_context(), transaction() as session:
        upsert_tickets(session, [TicketUpdate(provider="zendesk", external_id="7", category="Billing")])
        ingest(session, "post_ticket_survey", [survey("r-1", ticket_id="zendesk:7"),
                                               survey("r-2", ticket_id="zendesk:8")])  # ticket 8: not yet
    with app.app_context(), transaction() as session:
        linked = dict(session.execute(select(Feedback.external_id, Ticket.external_id)
                                      .outerjoin(Ticket, Ticket.id == Feedback.ticket_id)).all())
        assert linked == {"r-1": "7", "r-2": None}
        upsert_tickets(session, [TicketUpdate(provider="zendesk", external_id="8", category="Refunds")])
    with app.app_context(), transaction() as session:
        linked = dict(session.execute(select(Feedback.external_id, Ticket.category)
                                      .join(Ticket, Ticket.id == Feedback.ticket_id)).all())
        assert linked == {"r-1": "Billing", "r-2": "Refunds"}
