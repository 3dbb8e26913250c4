"""former_teams: the teams someone was in before a move, and until which day

Runs read each person's team from the employee row as it is now, so a period appraised again after a move
counted them in their new team, and their old team's report of that period lost them. A move now keeps the team
left, up to the day before; runs take the team held on the period's last day. Nobody has moved before this
revision as far as it can tell, so it starts empty.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from core.models.base import UTCDateTime

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'former_teams',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_former_teams_employee_id_employees'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_former_teams_team_id_teams'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_former_teams')),
        sa.UniqueConstraint('employee_id', 'until', name=op.f('uq_former_teams_employee_id_until')),
    )


def downgrade() -> None:
    op.drop_table('former_teams')
