"""mystery assignments: a visit type (enquiry, transaction, ...), so questions of other types are N/A

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ms_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_type', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ms_assignments', schema=None) as batch_op:
        batch_op.drop_column('visit_type')
