"""ms_photos: mystery-shopper proof photos in the database rather than one host's instance folder

Photos kept in the instance folder before this revision stay there and are still served by the host that
holds them; `plaudit mystery move-photos` moves them in.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ms_photos',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=50), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_ms_photos')),
    )


def downgrade() -> None:
    op.drop_table('ms_photos')
