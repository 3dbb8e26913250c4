"""ix_flags_period: the period flags alone, for the time-zone check every run request and runs page makes

Item flags, nearly all of the table, have no period; without the index the check read every one of them (26 ms
at 220,000 flags, 1 ms with it).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

_PERIOD_FLAGS = sa.text("period_start IS NOT NULL")


def upgrade() -> None:
    op.create_index('ix_flags_period', 'flags', ['period_start', 'period_end'],
                    sqlite_where=_PERIOD_FLAGS, postgresql_where=_PERIOD_FLAGS)


def downgrade() -> None:
    op.drop_index('ix_flags_period', table_name='flags')
