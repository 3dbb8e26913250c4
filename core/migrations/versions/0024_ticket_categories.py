"""ticket_categories: one spelling per ticket category, whatever the case and spacing it arrives in

"Billing" from one helpdesk and "billing " from a CSV import were two categories: the case mix and the training
needs by category split them, each with half the items. Existing spellings that differ only so (in case, spaces or
Unicode form) are merged into the one most tickets have (ties: the first in sort order), in tickets and in the
items that copy their category.
Runs already made keep their results until their periods are appraised again.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-27
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def _name(category: str) -> str:
    # As core.tickets.category_name and category_key then: a migration keeps its own copy of what it applied.
    return " ".join(unicodedata.normalize("NFC", category).split())


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def upgrade() -> None:
    categories = op.create_table(
        'ticket_categories',
        sa.Column('key', sa.String(length=600), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_ticket_categories')),
    )
    bind = op.get_bind()
    tickets = sa.table("tickets", sa.column("category", sa.String))
    feedback = sa.table("feedback", sa.column("ticket_category", sa.String))
    counted = dict(bind.execute(sa.select(tickets.c.category, sa.func.count()).where(tickets.c.category.is_not(None))
                                .group_by(tickets.c.category)).all())
    # A spelling items keep whose ticket is gone is merged too, though it counts no ticket toward the choice.
    for (category,) in bind.execute(sa.select(feedback.c.ticket_category).distinct()
                                    .where(feedback.c.ticket_category.is_not(None))):
        counted.setdefault(category, 0)
    spellings: dict[str, dict[str, int]] = {}
    for category, count in counted.items():
        name = _name(category)
        if name:
            by_name = spellings.setdefault(_key(name), {})
            by_name[name] = by_name.get(name, 0) + count
    chosen = {key: min(by_name, key=lambda name: (-by_name[name], name)) for key, by_name in spellings.items()}
    if chosen:
        op.bulk_insert(categories, [{"key": key, "name": name} for key, name in sorted(chosen.items())])
    merged = {category: chosen.get(_key(_name(category))) if _name(category) else None for category in counted}
    changed = {category: into for category, into in merged.items() if into != category}
    if changed:  # one statement per table: feedback.ticket_category has no index to find a spelling by
        for table, column in ((tickets, tickets.c.category), (feedback, feedback.c.ticket_category)):
            bind.execute(table.update().where(column.in_(sorted(changed)))
                         .values({column.name: sa.case(changed, value=column)}))


def downgrade() -> None:
    op.drop_table('ticket_categories')  # the merged spellings stay: the code before reads any
