"""ix_feedback_received_at: the API's incremental sync (``GET /feedback/?received_since=``) without a scan

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_feedback_received_at'), 'feedback', ['received_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_feedback_received_at'), table_name='feedback')
