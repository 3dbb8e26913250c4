"""social monitoring: the sources polled (feeds) or pushing posts, with their polling state

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sm_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('handles', sa.JSON(), nullable=False),
    sa.Column('etag', sa.String(length=300), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_polled_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('rss', 'push')", name=op.f('ck_sm_sources_known_kind')),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_sm_sources_failures_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sm_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_sm_sources_name'))
    )
    with op.batch_alter_table('sm_sources', schema=None) as batch_op:
        batch_op.create_index('ix_sm_sources_due', ['active', 'next_poll_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sm_sources', schema=None) as batch_op:
        batch_op.drop_index('ix_sm_sources_due')

    op.drop_table('sm_sources')
