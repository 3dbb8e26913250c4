"""employees: an active employee has no day of leaving, and nobody leaves before the day they joined

Both were kept by the code alone (core.tenure, the organisation file's import); a script writing to the table, or
a bug, could store an employee both active and gone, whom runs then counted in every period and the pages called
employed. Rows that break either rule already are mended first: an active employee's day of leaving is forgotten
(as marking someone employed again does), and a joining day after the leaving day is forgotten (not known: counted
from the start of every period, as before the day was given).

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

employees = sa.table("employees", sa.column("active", sa.Boolean), sa.column("started_on", sa.Date),
                     sa.column("left_on", sa.Date))


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(employees.update().where(employees.c.active.is_(True), employees.c.left_on.is_not(None))
                 .values(left_on=None))
    bind.execute(employees.update().where(employees.c.started_on > employees.c.left_on).values(started_on=None))
    with op.batch_alter_table('employees') as batch:
        batch.create_check_constraint(op.f('ck_employees_left_only_when_inactive'), 'NOT active OR left_on IS NULL')
        batch.create_check_constraint(op.f('ck_employees_joined_before_left'),
                                      'started_on IS NULL OR left_on IS NULL OR started_on <= left_on')


def downgrade() -> None:
    with op.batch_alter_table('employees') as batch:
        batch.drop_constraint(op.f('ck_employees_joined_before_left'), type_='check')
        batch.drop_constraint(op.f('ck_employees_left_only_when_inactive'), type_='check')
