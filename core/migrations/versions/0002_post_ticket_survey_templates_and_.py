"""post-ticket survey templates and invitations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pts_survey_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('intro', sa.Text(), nullable=True),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('comment_prompt', sa.Text(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pts_survey_templates')),
    sa.UniqueConstraint('slug', 'version', name=op.f('uq_pts_survey_templates_slug_version'))
    )
    op.create_table('pts_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_nonce', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=True),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('agent_identity', sa.String(length=310), nullable=True),
    sa.Column('solved_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('recipient_email', sa.String(length=320), nullable=True),
    sa.Column('respondent_ref', sa.String(length=64), nullable=True),
    sa.Column('delivery', sa.String(length=10), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('expires_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('answered_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('answer_window_ends_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_pts_invitations_employee_id_employees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_pts_invitations_integration_id_integrations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['pts_survey_templates.id'], name=op.f('fk_pts_invitations_template_id_pts_survey_templates')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_pts_invitations_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pts_invitations')),
    sa.UniqueConstraint('ticket_id', 'solved_at', name=op.f('uq_pts_invitations_ticket_id_solved_at')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_pts_invitations_token_hash'))
    )
    with op.batch_alter_table('pts_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pts_invitations_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pts_invitations_respondent_ref'), ['respondent_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_pts_invitations_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pts_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pts_invitations_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_pts_invitations_respondent_ref'))
        batch_op.drop_index(batch_op.f('ix_pts_invitations_employee_id'))

    op.drop_table('pts_invitations')
    op.drop_table('pts_survey_templates')
