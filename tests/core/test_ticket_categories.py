"""One ticket category however it is spelt: "Billing" from a helpdesk and "billing " from a CSV file were two,
and the case mix and the training needs by category split them, each with part of the items (migration 0024).
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from core.db import make_engine
from core.migrate import upgrade
from core.models import Feedback, Ticket, TicketCategory
from core.tickets import TicketUpdate, upsert_tickets

NINE = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _deliver(session, *categories: tuple[str, str | None]) -> None:
    upsert_tickets(session, [TicketUpdate(provider="desk", external_id=ticket, category=category)
                             for ticket, category in categories])
    session.commit()


def _stored(session) -> dict[str, str | None]:
    stored = dict(session.execute(select(Ticket.external_id, Ticket.category)).all())
    session.commit()  # SQLite: a command run next begins as a writer, which a reader open here would block
    return stored


def test_a_category_keeps_its_first_spelling_whatever_the_case_and_spaces_it_comes_in(session):
    _deliver(session, ("1", "Billing"))
    _deliver(session, ("2", "billing "), ("3", "BILLING"), ("4", "refunds"), ("5", "Refunds"), ("6", "Late  delivery"))
    assert _stored(session) == {"1": "Billing", "2": "Billing", "3": "Billing", "4": "refunds", "5": "refunds",
                                "6": "Late delivery"}
    assert dict(session.execute(select(TicketCategory.key, TicketCategory.name)).all()) == {
        "billing": "Billing", "refunds": "refunds", "late delivery": "Late delivery"}


def test_spellings_that_look_alike_are_one_category(session):
    """A CSV file saved on a Mac writes "Café" decomposed (e and a combining accent): it looked the same and was
    another category."""
    _deliver(session, ("1", "Caf\u00e9"), ("2", "Stra\u00dfe"))
    _deliver(session, ("3", "CAFE\u0301"), ("4", "STRASSE"), ("5", "caf\u00e9\u00a0"))
    assert set(_stored(session).values()) == {"Caf\u00e9", "Stra\u00dfe"}


def test_spaces_alone_are_no_category_and_leave_the_stored_one(session):
    _deliver(session, ("1", "Billing"))
    _deliver(session, ("1", "   "), ("2", " "))
    assert _stored(session) == {"1": "Billing", "2": None}


def test_items_about_a_ticket_recategorised_in_another_spelling_carry_the_organisations(session):
    _deliver(session, ("1", "Refunds"), ("2", "Billing"))
    ticket = session.scalar(select(Ticket.id).where(Ticket.external_id == "2"))
    session.add(Feedback(channel="test", kind="csat", external_id="a", value=5.0, occurred_at=NINE,
                         ticket_id=ticket, ticket_category="Billing"))
    session.commit()
    _deliver(session, ("2", "REFUNDS"))
    assert session.scalar(select(Feedback.ticket_category)) == "Refunds"


def test_migration_0024_merges_the_spellings_into_the_most_common(migration_urls):
    for url in migration_urls:
        upgrade(url, "0023")
        engine = make_engine(url)
        with engine.begin() as conn:
            for number, category in enumerate(["billing ", "Billing", "Billing", "REFUNDS", "   ", "Bug"]):
                conn.execute(text("INSERT INTO tickets (provider, external_id, category, updated_at) "
                                  "VALUES ('desk', :n, :category, '2026-11-02')"), {"n": str(number),
                                                                                     "category": category})
            for external_id, category in (("a", "billing "), ("b", "BUG"), ("c", "Cafe\u0301")):
                conn.execute(text("INSERT INTO feedback (channel, kind, external_id, occurred_at, received_at, "
                                  "value, status, payload, ticket_category) VALUES ('s', 'csat', :id, "
                                  "'2026-11-02', '2026-11-02', 1, 'accepted', '{}', :category)"),
                             {"id": external_id, "category": category})
        engine.dispose()
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            assert [row[0] for row in conn.execute(text("SELECT category FROM tickets ORDER BY id"))] == [
                "Billing", "Billing", "Billing", "REFUNDS", None, "Bug"]
            # a spelling only items keep (their ticket gone) is merged as well, and composed
            assert dict(conn.execute(text("SELECT external_id, ticket_category FROM feedback")).all()) == {
                "a": "Billing", "b": "Bug", "c": "Caf\u00e9"}
            assert dict(conn.execute(text("SELECT key, name FROM ticket_categories")).all()) == {
                "billing": "Billing", "refunds": "REFUNDS", "bug": "Bug", "caf\u00e9": "Caf\u00e9"}
        engine.dispose()


def test_hr_renames_a_category_or_merges_it_into_another(app, session, create_user):
    """The first spelling stored stood for good: "BILLING" could never become "Billing", nor "Refund" join
    "Refunds"."""
    from core.models import AuditEntry

    hr = create_user("hr@example.com", roles=["hr"])
    _deliver(session, ("1", "BILLING"), ("2", "billing"), ("3", "Refund"), ("4", "Refunds"), ("5", "Late"))
    ticket = session.scalar(select(Ticket.id).where(Ticket.external_id == "3"))
    session.add(Feedback(channel="test", kind="csat", external_id="a", value=5.0, occurred_at=NINE,
                         ticket_id=ticket, ticket_category="Refund"))
    session.commit()
    cli = app.test_cli_runner()

    def rename(old, new, by="hr@example.com"):
        return cli.invoke(args=["tickets", "rename-category", old, new, "--by", by])

    renamed = rename("billing", "Billing")
    assert renamed.exit_code == 0, renamed.output
    assert "'BILLING' renamed 'Billing': 2 ticket(s) and 0 feedback item(s)" in renamed.output
    merged = rename("refund", "REFUNDS")
    assert "'Refund' merged into 'Refunds': 1 ticket(s) and 1 feedback item(s)" in merged.output
    assert rename("Late", "Delayed delivery").exit_code == 0  # another name altogether
    session.expire_all()
    assert _stored(session) == {"1": "Billing", "2": "Billing", "3": "Refunds", "4": "Refunds",
                                "5": "Delayed delivery"}
    assert session.scalar(select(Feedback.ticket_category)) == "Refunds"
    session.commit()
    assert cli.invoke(args=["tickets", "categories"]).output.split() == [
        "2", "Billing", "1", "Delayed", "delivery", "2", "Refunds"]
    assert session.execute(select(AuditEntry.action, AuditEntry.actor_id).order_by(AuditEntry.id)).all() == [
        ("ticket_category.renamed", hr.id), ("ticket_category.merged", hr.id), ("ticket_category.renamed", hr.id)]
    # the helpdesk goes on sending its own words: they take the names HR gave, and undo nothing
    _deliver(session, ("1", "BILLING "), ("3", "Refund"), ("6", "refund"), ("7", "late"))
    assert _stored(session) == {"1": "Billing", "2": "Billing", "3": "Refunds", "4": "Refunds",
                                "5": "Delayed delivery", "6": "Refunds", "7": "Delayed delivery"}

    unknown = rename("Shipping", "Delivery")
    assert unknown.exit_code == 2 and "no ticket category is called 'Shipping'" in unknown.output
    assert "OLD" in unknown.output
    assert "give the category a name" in rename("Billing", "  ").output
    assert "'Billing' is its name already" in rename("billing", "Billing").output
    employee = create_user("ann@example.com", roles=["employee"])
    assert "is not HR or an admin" in rename("Billing", "Invoices", by=employee.email).output
