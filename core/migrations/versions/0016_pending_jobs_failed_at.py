"""pending_jobs: failed_at, set while a job waits out its backoff after failing, cleared when it is handed over

Without it a failed job being retried (queued or running again) looked the same as one waiting to be retried,
and a row Redis could not take looked failed: a person could discard a job that was running.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pending_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', core.models.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pending_jobs', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
