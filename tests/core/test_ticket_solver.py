"""Each solved ticket knows who solved it (``Ticket.solver_id``): whoever held it at the solve, whatever order
the helpdesk's deliveries arrive in; migration 0014 works it out for tickets stored before it."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.channel import IdentityRef
from core.db import make_engine
from core.migrate import upgrade
from core.tickets import TicketUpdate, upsert_tickets
from tests.fixtures.app import create_postgres_database, drop_postgres_database

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


def test_migration_0014_works_out_the_solver_of_tickets_stored_before_it(tmp_path, postgres_server_url):
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
            engine.dispose()
        finally:
            if not url.startswith("sqlite"):
                drop_postgres_database(postgres_server_url, name)
