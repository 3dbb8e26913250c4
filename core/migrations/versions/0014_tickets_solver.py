"""tickets: who solved each one, kept as deliveries arrive; an index of the tickets survey answers name

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SURVEYED = "kind IN ('csat', 'nps', 'ces') AND ticket_id IS NOT NULL"

# The holder at the solve: the latest assignment at or before it (later id first on a tie), else the assignee.
BACKFILL = """
UPDATE tickets SET solver_id = CASE
    WHEN resolved_at IS NULL THEN NULL
    WHEN EXISTS (SELECT 1 FROM ticket_assignments AS a
                 WHERE a.ticket_id = tickets.id AND a.assigned_at <= tickets.resolved_at)
    THEN (SELECT a.employee_id FROM ticket_assignments AS a
          WHERE a.ticket_id = tickets.id AND a.assigned_at <= tickets.resolved_at
          ORDER BY a.assigned_at DESC, a.id DESC LIMIT 1)
    ELSE assignee_id END
WHERE resolved_at IS NOT NULL
"""


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_survey_ticket', ['ticket_id', 'occurred_at'], unique=False,
                              postgresql_where=sa.text(SURVEYED), sqlite_where=sa.text(SURVEYED))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('solver_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_solver_id'), ['solver_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tickets_solver_id_employees'), 'employees', ['solver_id'],
                                    ['id'], ondelete='SET NULL')
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_solver_id_employees'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_solver_id'))
        batch_op.drop_column('solver_id')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_survey_ticket', postgresql_where=sa.text(SURVEYED),
                            sqlite_where=sa.text(SURVEYED))
