"""employees.started_on and employees.left_on: the days a person joined and left, for the periods they are appraised in

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('employees') as batch:
        batch.add_column(sa.Column('started_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('left_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('employees') as batch:
        batch.drop_column('left_on')
        batch.drop_column('started_on')
