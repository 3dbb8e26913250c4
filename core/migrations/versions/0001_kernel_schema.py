"""kernel schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.models.base

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('integrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('webhook_secret', sa.String(length=255), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('name', name=op.f('uq_integrations_name'))
    )
    op.create_table('pending_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('func', sa.String(length=200), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_jobs'))
    )
    with op.batch_alter_table('pending_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_jobs_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['teams.id'], name=op.f('fk_teams_parent_id_teams'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('slug', name=op.f('uq_teams_slug'))
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_teams_parent_id'), ['parent_id'], unique=False)

    op.create_table('employees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_employees_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employees')),
    sa.UniqueConstraint('email', name=op.f('uq_employees_email'))
    )
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employees_team_id'), ['team_id'], unique=False)

    # teams and employees point at each other: the team's manager key can only follow the employees table.
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_teams_manager_id_employees'), 'employees',
                                    ['manager_id'], ['id'], ondelete='SET NULL')

    op.create_table('employee_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=50), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_employee_identities_employee_id_employees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employee_identities')),
    sa.UniqueConstraint('provider', 'external_id', name=op.f('uq_employee_identities_provider_external_id'))
    )
    with op.batch_alter_table('employee_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employee_identities_employee_id'), ['employee_id'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=50), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('category', sa.String(length=200), nullable=True),
    sa.Column('contact_channel', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=50), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('first_response_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_public_replier', sa.String(length=310), nullable=True),
    sa.Column('last_public_reply_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['employees.id'], name=op.f('fk_tickets_assignee_id_employees'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('provider', 'external_id', name=op.f('uq_tickets_provider_external_id'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_category'), ['category'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_users_employee_id_employees'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('employee_id', name=op.f('uq_users_employee_id'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('expires_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('entity_type', sa.String(length=50), nullable=False),
    sa.Column('entity_id', sa.String(length=100), nullable=True),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_entries_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entries_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('occurred_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('received_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('scale_min', sa.Float(), nullable=True),
    sa.Column('scale_max', sa.Float(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('ticket_ref', sa.String(length=255), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('respondent_ref', sa.String(length=64), nullable=True),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('attribution_policy', sa.String(length=50), nullable=True),
    sa.Column('attributed_identity', sa.String(length=310), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('announced_at', core.models.base.UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('accepted', 'quarantined', 'pending_review', 'excluded')", name=op.f('ck_feedback_known_status')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_feedback_employee_id_employees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_feedback_team_id_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_feedback_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_feedback_channel_external_id'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_employee_occurred', ['employee_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_feedback_kind_occurred', ['kind', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_respondent_ref'), ['respondent_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('external_assignee_id', sa.String(length=255), nullable=True),
    sa.Column('assigned_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_ticket_assignments_employee_id_employees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_assignments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_assignments'))
    )
    with op.batch_alter_table('ticket_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_assignments_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'hr', 'manager', 'employee', 'shopper')", name=op.f('ck_user_roles_known_role')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_roles'))
    )
    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('raised_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_disputes_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_disputes_feedback_id_feedback'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raised_by'], ['users.id'], name=op.f('fk_disputes_raised_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes'))
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disputes_feedback_id'), ['feedback_id'], unique=False)

    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('check', sa.String(length=50), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_flags_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_flags_feedback_id_feedback'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags'))
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flags_feedback_id'), ['feedback_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flags_feedback_id'))

    op.drop_table('flags')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disputes_feedback_id'))

    op.drop_table('disputes')
    op.drop_table('user_roles')
    with op.batch_alter_table('ticket_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_assignments_ticket_id'))

    op.drop_table('ticket_assignments')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_team_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_respondent_ref'))
        batch_op.drop_index('ix_feedback_kind_occurred')
        batch_op.drop_index('ix_feedback_employee_occurred')

    op.drop_table('feedback')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_entity')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))

    op.drop_table('audit_entries')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_category'))
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_id'))

    op.drop_table('tickets')
    with op.batch_alter_table('employee_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employee_identities_employee_id'))

    op.drop_table('employee_identities')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_teams_manager_id_employees'), type_='foreignkey')
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employees_team_id'))

    op.drop_table('employees')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_parent_id'))
        batch_op.drop_index(batch_op.f('ix_teams_manager_id'))

    op.drop_table('teams')
    with op.batch_alter_table('pending_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_jobs_next_attempt_at'))

    op.drop_table('pending_jobs')
    op.drop_table('integrations')
