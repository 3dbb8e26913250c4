"""digest deliveries: each weekly digest e-mail of a run, recorded so none goes twice

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.CheckConstraint("kind IN ('employee', 'team')", name=op.f('ck_digest_deliveries_known_kind')),
    sa.ForeignKeyConstraint(['recipient_id'], ['employees.id'], name=op.f('fk_digest_deliveries_recipient_id_employees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['appraisal_runs.id'], name=op.f('fk_digest_deliveries_run_id_appraisal_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_deliveries')),
    sa.UniqueConstraint('run_id', 'recipient_id', 'kind', name=op.f('uq_digest_deliveries_run_id_recipient_id_kind'))
    )
    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_deliveries_recipient_id'), ['recipient_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_deliveries_recipient_id'))

    op.drop_table('digest_deliveries')
