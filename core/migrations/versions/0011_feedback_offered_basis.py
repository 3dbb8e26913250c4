"""feedback: the basis a waiting item's identity was offered under, so mapping it later credits the item

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25

Items already waiting keep NULL (their basis was not recorded): mapping their identity leaves them in the
queue, as before, for a person to decide.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offered_basis', sa.String(length=50), nullable=True))
        batch_op.create_index('ix_feedback_attributed_identity', ['attributed_identity'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_attributed_identity')
        batch_op.drop_column('offered_basis')
