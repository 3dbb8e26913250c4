"""tickets: who solved each one and when it was last surveyed; feedback: its ticket's category

Kept as deliveries arrive (core.tickets), so that period checks and an appraisal's case mix read one table
instead of joining assignments, invitations and tickets at every run.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# The holder at the solve: the latest assignment at or before it (later id first on a tie), else the assignee.
SOLVERS = """
UPDATE tickets SET solver_id = CASE
    WHEN EXISTS (SELECT 1 FROM ticket_assignments AS a
                 WHERE a.ticket_id = tickets.id AND a.assigned_at <= tickets.resolved_at)
    THEN (SELECT a.employee_id FROM ticket_assignments AS a
          WHERE a.ticket_id = tickets.id AND a.assigned_at <= tickets.resolved_at
          ORDER BY a.assigned_at DESC, a.id DESC LIMIT 1)
    ELSE assignee_id END
WHERE resolved_at IS NOT NULL
"""

# The latest invitation (at its solve's time) or survey answer about each ticket.
SURVEYS = """
UPDATE tickets SET survey_seen_at = (
    SELECT max(seen) FROM (
        SELECT solved_at AS seen FROM pts_invitations WHERE pts_invitations.ticket_id = tickets.id
        UNION ALL
        SELECT occurred_at FROM feedback
        WHERE feedback.ticket_id = tickets.id AND feedback.kind IN ('csat', 'nps', 'ces')) AS surveys)
WHERE id IN (SELECT ticket_id FROM pts_invitations
             UNION SELECT ticket_id FROM feedback WHERE kind IN ('csat', 'nps', 'ces') AND ticket_id IS NOT NULL)
"""

CATEGORIES = """
UPDATE feedback SET ticket_category = (SELECT category FROM tickets WHERE tickets.id = feedback.ticket_id)
WHERE ticket_id IS NOT NULL
"""


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_category', sa.String(length=200), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('solver_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('survey_seen_at', core.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_solver_id'), ['solver_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tickets_solver_id_employees'), 'employees', ['solver_id'],
                                    ['id'], ondelete='SET NULL')
    for backfill in (SOLVERS, SURVEYS, CATEGORIES):
        op.execute(backfill)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_solver_id_employees'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_solver_id'))
        batch_op.drop_column('survey_seen_at')
        batch_op.drop_column('solver_id')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_column('ticket_category')
