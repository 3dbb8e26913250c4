"""Ticket categories: one spelling each, whatever case, spacing or Unicode form a helpdesk or a file sends, and
HR's renaming or merging of them (``plaudit tickets``).

A ticket carries its category's name (``Ticket.category``), and every item about it a copy
(``Feedback.ticket_category``) that the case mix groups by: both are kept to the one spelling here.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import AuditEntry, Feedback, Ticket, TicketCategory, utcnow

#: The longest name a category has (``Ticket.category``), and its key.
NAME_LIMIT = Ticket.__table__.c.category.type.length
KEY_LIMIT = TicketCategory.__table__.c.key.type.length


def category_name(category: str) -> str:
    """A category as stored: composed (NFC), its spaces collapsed; empty for one of spaces alone."""
    return " ".join(unicodedata.normalize("NFC", category).split())


def category_key(category: str) -> str:
    """What one category's spellings share: "Billing", "billing " and "BILLING" are one category, and so are
    "Straße" and "STRASSE" (case folded, compatibility forms composed)."""
    # Cut to its column: compatibility forms can spread one character over many (U+FDFA over 18).
    return unicodedata.normalize("NFKC", category_name(category)).casefold()[:KEY_LIMIT]


def category_spellings(session: Session, categories: Sequence[str]) -> dict[str, str]:
    """The organisation's spelling of each of ``categories``, by :func:`category_key`: the first one stored.

    A category not seen before is stored as given (spaces collapsed), the first of the batch winning; when
    another writer stored it meanwhile, theirs. Two statements whatever the number of categories.
    """
    given: dict[str, str] = {}
    for category in categories:
        name = category_name(category)
        if name:
            given.setdefault(category_key(name), name)
    if not given:
        return {}
    rows = [{"key": key, "name": name} for key, name in sorted(given.items())]
    session.execute(_insert(session).on_conflict_do_nothing(index_elements=["key"]), rows)
    return dict(session.execute(select(TicketCategory.key, TicketCategory.name).where(
        TicketCategory.key.in_(sorted(given)))).all())


@dataclass(frozen=True)
class Renaming:
    """What renaming a category did."""

    before: str
    after: str
    #: Whether it went into another category that already had the new name.
    merged: bool
    tickets: int
    items: int


def rename_category(session: Session, old: str, new: str, *, actor=None) -> Renaming:
    """Give the category ``old`` (any spelling of it) the name ``new``: another spelling of the same category, or
    another name; a category that already has that name takes ``old``'s tickets and items (a merge). Audited.

    The old key stays, spelt the new way: the helpdesk still sends its own word ("Refund"), and what it sends
    after the rename takes the new name rather than bringing the old one back. Runs already made keep their case
    mixes until their periods are appraised again.

    :raises LookupError: when no category is spelt ``old``.
    :raises ValueError: for an empty new name, one over the limit, or the name it has already.
    """
    name = category_name(new)
    if not name:
        raise ValueError("NEW: give the category a name")
    if len(name) > NAME_LIMIT:
        raise ValueError(f"NEW: at most {NAME_LIMIT} characters; this is {len(name)}")
    found = session.get(TicketCategory, category_key(old))
    if found is None:
        raise LookupError(f"OLD: no ticket category is called {old!r} (plaudit tickets categories lists them)")
    before = found.name
    if name == before:
        raise ValueError(f"NEW: {before!r} is its name already")
    spelt = select(TicketCategory.name).where(TicketCategory.key == category_key(name))
    existing = session.scalar(spelt)
    if existing is None:  # a name not seen before: its key is stored (or a delivery's, stored meanwhile, read)
        session.execute(_insert(session).on_conflict_do_nothing(index_elements=["key"]),
                        {"key": category_key(name), "name": name})
        name = session.scalar(spelt)
    elif existing != before:  # another category's name: this one goes into it, which keeps its spelling
        name = existing
    # (else a key of this very category, its own or one a rename left: a new spelling of it)
    merged = existing is not None and existing != before
    # Every key spelt the old way (the old one, and those earlier renames left) spells it the new way.
    session.execute(update(TicketCategory).where(TicketCategory.name == before).values(name=name)
                    .execution_options(synchronize_session=False))
    tickets = session.execute(update(Ticket).where(Ticket.category == before).values(category=name)
                              .execution_options(synchronize_session=False)).rowcount
    items = session.execute(update(Feedback).where(Feedback.ticket_category == before)
                            # A merge regroups the case mix; a new name alone changes no number, and runs made
                            # again would issue training of the old need under the new name (appraisal/outdated.py).
                            .values(ticket_category=name, **({"changed_at": utcnow()} if merged else {}))
                            .execution_options(synchronize_session=False)).rowcount
    # Keyed by name in the details: a category has no id, and its key may outgrow the audit's entity id.
    session.add(AuditEntry(action="ticket_category.merged" if merged else "ticket_category.renamed",
                           entity_type="ticket_categories", entity_id=None, actor_id=getattr(actor, "id", actor),
                           before={"name": before}, after={"name": name, "tickets": tickets, "items": items}))
    return Renaming(before, name, merged, tickets, items)


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TicketCategory)


def category_counts(session: Session) -> list[tuple[str, int]]:
    """Every category with how many tickets have it, by name (once, whatever keys spell it so): one GROUP BY."""
    names = select(TicketCategory.name).distinct().subquery()
    return [(name, count) for name, count in session.execute(
        select(names.c.name, func.count(Ticket.id)).select_from(names)
        .outerjoin(Ticket, Ticket.category == names.c.name)
        .group_by(names.c.name).order_by(func.lower(names.c.name), names.c.name))]
