"""What tickets and their feedback carry for the appraisal, kept as deliveries arrive in whatever order:
who solved each ticket (``Ticket.solver_id``), when it was last surveyed (``Ticket.survey_seen_at``), and each
item's ticket category (``Feedback.ticket_category``). Migration 0014 works them out for what was stored before."""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from channels.post_ticket_survey.invitations import Solve, invite_solved
from channels.post_ticket_survey.schemas import SurveySettingsSchema
from core.channel import IdentityRef
from core.db import make_engine
from core.ingestion import ingest, revise_feedback
from core.migrate import upgrade
from core.models import Feedback, Ticket
from core.tickets import TicketUpdate, upsert_tickets
from tests.fixtures.app import create_postgres_database, drop_postgres_database
from tests.fixtures.payloads import survey

NINE = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _deliver(session, external_id: str, *snapshots: dict):
    for snapshot in snapshots:
        [ticket] = upsert_tickets(session, [TicketUpdate(provider="desk", external_id=external_id, **snapshot)]
                                  ).values()
    session.commit()
    return ticket


@pytest.fixture
def agents(create_employee):
    return {name: create_employee(name.title(), identities=[("desk", name)]).id for name in ("ann", "bob")}


def _held_by(name: str, hours: float) -> dict:
    return {"assignee": IdentityRef("desk", name), "assigned_at": NINE + timedelta(hours=hours)}


def test_the_solver_is_whoever_held_the_ticket_at_the_solve(session, agents):
    solved_at_noon = {"resolved_at": NINE + timedelta(hours=3)}
    # Ann solves it at noon; at two it goes to Bob, and that delivery overtakes the solve.
    ticket = _deliver(session, "1", _held_by("ann", 0), _held_by("bob", 5), solved_at_noon)
    assert (ticket.assignee_id, ticket.solver_id) == (agents["bob"], agents["ann"])

    # Handed from Ann to Bob at noon, solved at one: Bob's.
    ticket = _deliver(session, "5", _held_by("ann", 0), _held_by("bob", 3), {"resolved_at": NINE + timedelta(hours=4)})
    assert ticket.solver_id == agents["bob"]


def test_an_open_ticket_or_an_unknown_holder_has_no_solver(session, agents):
    assert _deliver(session, "2", _held_by("ann", 0)).solver_id is None
    # Held by someone no employee maps to at the solve: nobody solved it, however it was assigned later.
    ticket = _deliver(session, "3", _held_by("contractor", 0), {"resolved_at": NINE + timedelta(hours=1)},
                      _held_by("ann", 2))
    assert (ticket.assignee_id, ticket.solver_id) == (agents["ann"], None)


def test_a_ticket_with_no_assignment_before_the_solve_is_its_assignees(session, agents):
    ticket = _deliver(session, "4", {**_held_by("bob", 4), "resolved_at": NINE + timedelta(hours=2)})
    assert ticket.solver_id == agents["bob"]


def _rate(session, response_id: str, ticket: str, at: datetime, kind: str = "csat") -> None:
    report = ingest(session, "post_ticket_survey", [survey(response_id, kind=kind, ticket_id=ticket, agent=None,
                                                           answered_at=at.isoformat())])
    assert not report.rejected, report.rejected
    session.commit()


def _ticket(session, external_id: str) -> Ticket:
    session.expire_all()
    return session.scalar(select(Ticket).where(Ticket.external_id == external_id))


def _categories(session) -> dict[str, str | None]:
    return dict(session.execute(select(Feedback.external_id, Feedback.ticket_category)).all())


def test_a_survey_answer_or_an_invitation_marks_when_the_ticket_was_surveyed(app, session, agents):
    _deliver(session, "7", {**_held_by("ann", 0), "resolved_at": NINE + timedelta(hours=1), "category": "Billing"})
    assert _ticket(session, "7").survey_seen_at is None
    _rate(session, "r-1", "desk:7", NINE + timedelta(hours=3))
    assert _ticket(session, "7").survey_seen_at == NINE + timedelta(hours=3)
    _rate(session, "r-0", "desk:7", NINE + timedelta(hours=2))  # an older answer arriving late changes nothing
    assert _ticket(session, "7").survey_seen_at == NINE + timedelta(hours=3)
    # The customer changes the later answer the next day: the ticket was surveyed then.
    revise_feedback(session, "post_ticket_survey", "r-1", value=2, comment=None, occurred_at=NINE + timedelta(1))
    session.commit()
    assert _ticket(session, "7").survey_seen_at == NINE + timedelta(days=1)

    ticket = _deliver(session, "8", {**_held_by("bob", 0), "resolved_at": NINE + timedelta(hours=5)})
    invite_solved(session, [Solve(ticket)], SurveySettingsSchema().load({"delivery": "link"}))
    session.commit()
    assert _ticket(session, "8").survey_seen_at == NINE + timedelta(hours=5)  # invited for that solve


def test_a_survey_leaves_the_helpdesks_last_word_on_the_ticket(app, session, agents):
    """``updated_at`` says when the helpdesk last changed the ticket (the admin page's "last heard from")."""
    _deliver(session, "11", {**_held_by("ann", 0), "resolved_at": NINE + timedelta(hours=1)})
    before = _ticket(session, "11").updated_at
    _rate(session, "r-11", "desk:11", NINE + timedelta(hours=2))
    ticket = _ticket(session, "11")
    assert (ticket.survey_seen_at, ticket.updated_at) == (NINE + timedelta(hours=2), before)


def test_items_carry_their_tickets_category_whichever_arrives_first(app, session, agents):
    _deliver(session, "9", {"category": "Billing"})
    _rate(session, "before", "desk:10", NINE)  # its ticket is not stored yet
    _rate(session, "after", "desk:9", NINE)
    assert _categories(session) == {"before": None, "after": "Billing"}

    _deliver(session, "10", {"category": "Refunds", "resolved_at": NINE - timedelta(hours=1)})
    assert _categories(session) == {"before": "Refunds", "after": "Billing"}
    assert _ticket(session, "10").survey_seen_at == NINE  # the earlier answer, noted when it was linked

    _deliver(session, "9", {"category": "Bug", "observed_at": NINE + timedelta(days=1)})  # recategorised
    assert _categories(session) == {"before": "Refunds", "after": "Bug"}


def _timing(session, ticket: str) -> None:
    """A ticket timing about ``ticket`` (no survey answer, so nothing else locks the ticket)."""
    report = ingest(session, "ticket_metrics", [{"ticket": ticket, "metric": "first_response_time", "minutes": 5,
                                                 "at": NINE.isoformat(), "agent": "desk:ann"}])
    assert not report.rejected, report.rejected


@pytest.mark.parametrize("first", ["recategorised", "ingested"])
def test_an_item_stored_while_its_ticket_is_recategorised_gets_the_new_category(app, session, agents, database,
                                                                                first):
    """Two writers at once (PostgreSQL): whichever starts first, the item ends with its ticket's category."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two cannot overlap")
    _deliver(session, "12", {"category": "Billing", "observed_at": NINE})
    recategorise = [TicketUpdate(provider="desk", external_id="12", category="Refunds",
                                 observed_at=NINE + timedelta(hours=2))]
    maker = app.extensions["plaudit.db"].sessionmaker
    holder = maker()
    errors = []

    def then():
        """The second writer, in a thread of its own: it must wait for the first one's ticket lock."""
        with app.app_context(), maker() as other:
            try:
                if first == "recategorised":
                    _timing(other, "desk:12")
                else:
                    upsert_tickets(other, recategorise)
                other.commit()
            except Exception as error:  # noqa: BLE001 -- reported below, not lost in the thread
                errors.append(error)

    try:
        if first == "recategorised":  # the helpdesk's change has flushed, not committed, when the item arrives
            upsert_tickets(holder, recategorise)
        else:  # the item is stored, not committed, when the helpdesk's change arrives
            _timing(holder, "desk:12")
        second = threading.Thread(target=then)
        second.start()
        second.join(1.0)
        waited = second.is_alive()
        holder.commit()
        second.join(30)
    finally:
        holder.rollback()
        holder.close()
    assert not errors and waited
    session.expire_all()
    assert session.execute(select(Feedback.ticket_category, Ticket.category)
                           .join(Ticket, Ticket.id == Feedback.ticket_id)).one() == ("Refunds", "Refunds")


def test_migration_0014_works_out_what_was_stored_before_it(tmp_path, postgres_server_url):
    name = f"plaudit_solver_{os.getpid()}"
    for url in (f"sqlite:///{tmp_path / 'solver.db'}", create_postgres_database(postgres_server_url, name)):
        try:
            upgrade(url, "0013")
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO employees (id, name, active, created_at) VALUES "
                                  "(1, 'Ann', true, '2026-11-01'), (2, 'Bob', true, '2026-11-01')"))
                conn.execute(text(
                    "INSERT INTO tickets (id, provider, external_id, assignee_id, resolved_at, updated_at) VALUES "
                    "(1, 'desk', '1', 2, '2026-11-02 12:00', '2026-11-02'),"  # Ann's, then Bob's after the solve
                    "(2, 'desk', '2', 1, NULL, '2026-11-02'),"                # open
                    "(3, 'desk', '3', 2, '2026-11-02 08:00', '2026-11-02'),"  # assigned only after the solve
                    "(4, 'desk', '4', NULL, '2026-11-02 12:00', '2026-11-02')"))  # an unknown holder
                conn.execute(text("UPDATE tickets SET category = 'Billing' WHERE id = 1"))
                conn.execute(text(
                    "INSERT INTO feedback (channel, kind, external_id, occurred_at, received_at, value, status, "
                    "payload, ticket_id) VALUES "
                    "('s', 'csat', 'a', '2026-11-02 13:00', '2026-11-02 13:00', 5, 'accepted', '{}', 1),"
                    "('s', 'nps', 'b', '2026-11-02 15:00', '2026-11-02 15:00', 9, 'accepted', '{}', 1),"
                    "('s', 'first_response_time', 'c', '2026-11-02 16:00', '2026-11-02 16:00', 5, 'accepted', "
                    "'{}', 1),"  # not a survey answer
                    "('s', 'csat', 'd', '2026-11-02 13:00', '2026-11-02 13:00', 1, 'accepted', '{}', NULL)"))
                conn.execute(text(
                    "INSERT INTO ticket_assignments (ticket_id, employee_id, external_assignee_id, assigned_at) "
                    "VALUES (1, 1, 'desk:ann', '2026-11-02 09:00'), (1, 2, 'desk:bob', '2026-11-02 14:00'),"
                    "(2, 1, 'desk:ann', '2026-11-02 09:00'), (3, 2, 'desk:bob', '2026-11-02 09:00'),"
                    "(4, NULL, 'desk:x', '2026-11-02 09:00')"))
            engine.dispose()
            upgrade(url)
            engine = make_engine(url)
            with engine.connect() as conn:
                assert dict(conn.execute(text("SELECT id, solver_id FROM tickets")).all()) == {1: 1, 2: None, 3: 2,
                                                                                        4: None}
                # Copying tickets on SQLite (a batch migration) kept their assignments: no cascade ran.
                assert conn.execute(text("SELECT count(*) FROM ticket_assignments")).scalar() == 5
                seen = conn.execute(text("SELECT survey_seen_at FROM tickets WHERE id = 1")).scalar()
                assert str(seen).startswith("2026-11-02 15:00")  # the NPS answer, the latest survey
                assert conn.execute(text("SELECT count(*) FROM tickets WHERE survey_seen_at IS NULL")).scalar() == 3
                assert dict(conn.execute(text("SELECT external_id, ticket_category FROM feedback")).all()) == {
                    "a": "Billing", "b": "Billing", "c": "Billing", "d": None}
            engine.dispose()
        finally:
            if not url.startswith("sqlite"):
                drop_postgres_database(postgres_server_url, name)
