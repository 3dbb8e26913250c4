"""feedback: the employee a channel proposes for a queued item, for a person to confirm or reject

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_employee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_feedback_proposed_employee_id'), ['proposed_employee_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_feedback_proposed_employee_id_employees'), 'employees',
                                    ['proposed_employee_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_feedback_proposed_employee_id_employees'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_feedback_proposed_employee_id'))
        batch_op.drop_column('proposed_employee_id')
