"""ticket_categories: one spelling per ticket category, whatever the case and spacing it arrives in

"Billing" from one helpdesk and "billing " from a CSV import were two categories: the case mix and the training
needs by category split them, each with half the items. Existing spellings that differ only so are merged into
the one most tickets have (ties: the first in sort order), in tickets and in the items that copy their category.
Runs already made keep their results until their periods are appraised again.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    categories = op.create_table(
        'ticket_categories',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_ticket_categories')),
    )
    bind = op.get_bind()
    tickets = sa.table("tickets", sa.column("category", sa.String))
    feedback = sa.table("feedback", sa.column("ticket_category", sa.String))
    counted = bind.execute(sa.select(tickets.c.category, sa.func.count()).where(tickets.c.category.is_not(None))
                           .group_by(tickets.c.category)).all()
    spellings: dict[str, dict[str, int]] = {}
    for category, count in counted:
        name = " ".join(category.split())
        if name:
            by_name = spellings.setdefault(name.lower(), {})
            by_name[name] = by_name.get(name, 0) + count
    chosen = {key: min(by_name, key=lambda name: (-by_name[name], name)) for key, by_name in spellings.items()}
    if chosen:
        op.bulk_insert(categories, [{"key": key, "name": name} for key, name in sorted(chosen.items())])
    for category, _ in counted:
        name = " ".join(category.split())
        merged = chosen.get(name.lower()) if name else None
        if merged != category:
            bind.execute(tickets.update().where(tickets.c.category == category).values(category=merged))
            bind.execute(feedback.update().where(feedback.c.ticket_category == category)
                         .values(ticket_category=merged))


def downgrade() -> None:
    op.drop_table('ticket_categories')  # the merged spellings stay: the code before reads any
