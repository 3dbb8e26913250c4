"""indexes for ticket links and solves; link stored feedback to its tickets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_ticket_ref'), ['ticket_ref'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_resolved_at'), ['resolved_at'], unique=False)

    # Ingestion now links an item to the ticket its ticket_ref names; link what was stored before.
    op.execute("UPDATE feedback SET ticket_id = (SELECT tickets.id FROM tickets "
               "WHERE tickets.provider || ':' || tickets.external_id = feedback.ticket_ref) "
               "WHERE ticket_id IS NULL AND ticket_ref IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_resolved_at'))

    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_ticket_ref'))
