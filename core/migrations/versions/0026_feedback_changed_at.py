"""feedback.changed_at: when an item last changed in a way a run counts, or arrived late; and where it counted before

A run keeps the results it computed; a flag or dispute decided later, a re-credited item, a revised value or
an item arriving days after its time left no trace by which HR could tell which runs no longer show their
period as it is (appraisal/outdated.py). ``previous_employee_id`` and ``previous_occurred_at`` keep whom an
item was credited to, and its time, before the change that last moved either, since the run made before the
change counted it there. Items stored before this revision have none of these: they count as unchanged since
they arrived. The indexes hold only the items that have a value, so ingestion pays for them only on those.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from core.models.base import UTCDateTime

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feedback') as batch:
        batch.add_column(sa.Column('changed_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('previous_employee_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('previous_occurred_at', UTCDateTime(), nullable=True))
        batch.create_foreign_key(batch.f('fk_feedback_previous_employee_id_employees'), 'employees',
                                 ['previous_employee_id'], ['id'], ondelete='SET NULL')
    op.create_index('ix_feedback_changed', 'feedback', ['occurred_at', 'changed_at'],
                    sqlite_where=sa.text("changed_at IS NOT NULL"), postgresql_where=sa.text("changed_at IS NOT NULL"))
    op.create_index('ix_feedback_previous_occurred', 'feedback', ['previous_occurred_at'],
                    sqlite_where=sa.text("previous_occurred_at IS NOT NULL"),
                    postgresql_where=sa.text("previous_occurred_at IS NOT NULL"))
    op.create_index('ix_feedback_previous_employee', 'feedback', ['previous_employee_id'],
                    sqlite_where=sa.text("previous_employee_id IS NOT NULL"),
                    postgresql_where=sa.text("previous_employee_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index('ix_feedback_previous_employee', table_name='feedback')
    op.drop_index('ix_feedback_previous_occurred', table_name='feedback')
    op.drop_index('ix_feedback_changed', table_name='feedback')
    with op.batch_alter_table('feedback') as batch:
        batch.drop_constraint(batch.f('fk_feedback_previous_employee_id_employees'), type_='foreignkey')
        batch.drop_column('previous_occurred_at')
        batch.drop_column('previous_employee_id')
        batch.drop_column('changed_at')
