"""feedback: one index on (respondent_ref, employee_id, kind, occurred_at) in place of respondent_ref's alone

The duplicate_respondent check looks up, for each item of a batch, the same customer's answers of the same kind
about the same employee in the window before it: with this index that is one short range scan per item. The
lookups by respondent_ref alone (erasing a customer's data) use its first column, as they used the old index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_feedback_respondent_employee_kind_occurred', 'feedback',
                    ['respondent_ref', 'employee_id', 'kind', 'occurred_at'], unique=False)
    op.drop_index('ix_feedback_respondent_ref', table_name='feedback')


def downgrade() -> None:
    op.create_index('ix_feedback_respondent_ref', 'feedback', ['respondent_ref'], unique=False)
    op.drop_index('ix_feedback_respondent_employee_kind_occurred', table_name='feedback')
