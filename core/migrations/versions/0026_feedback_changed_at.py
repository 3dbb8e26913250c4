"""feedback.changed_at: when an item last changed in a way a run counts, after it arrived

A run keeps the results it computed; a flag or dispute decided later, a re-credited item or a revised value
left no trace by which HR could tell which runs no longer show their period as it is (appraisal/outdated.py).
Items stored before this revision have no such time: they count as unchanged since they arrived. The index
holds only the items that changed, so ingestion pays nothing for it.

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
    op.create_index('ix_feedback_changed_at', 'feedback', ['changed_at'],
                    sqlite_where=sa.text("changed_at IS NOT NULL"), postgresql_where=sa.text("changed_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index('ix_feedback_changed_at', table_name='feedback')
    with op.batch_alter_table('feedback') as batch:
        batch.drop_column('changed_at')
