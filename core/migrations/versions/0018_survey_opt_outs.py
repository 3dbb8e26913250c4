"""pts_opt_outs: customers who asked not to be surveyed again, by respondent reference (a keyed hash)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from core.models.base import UTCDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pts_opt_outs',
        sa.Column('respondent_ref', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('respondent_ref', name=op.f('pk_pts_opt_outs')),
    )


def downgrade() -> None:
    op.drop_table('pts_opt_outs')
