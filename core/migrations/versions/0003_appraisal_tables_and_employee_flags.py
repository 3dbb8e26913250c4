"""appraisal tables and employee flags

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.models.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guidelines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_guidelines_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guidelines')),
    sa.UniqueConstraint('version', name=op.f('uq_guidelines_version'))
    )
    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=50), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('period_start', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('period_end', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('set_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('(employee_id IS NULL) <> (team_id IS NULL)', name=op.f('ck_targets_one_subject')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_targets_employee_id_employees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'], name=op.f('fk_targets_set_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_targets_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets'))
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index('ix_targets_metric_period', ['metric', 'period_start', 'period_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_targets_team_id'), ['team_id'], unique=False)

    op.create_table('appraisal_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=10), nullable=False),
    sa.Column('period_start', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('period_end', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('guideline_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('started_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('finished_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('feedback_watermark', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'completed', 'failed')", name=op.f('ck_appraisal_runs_known_status')),
    sa.ForeignKeyConstraint(['guideline_id'], ['guidelines.id'], name=op.f('fk_appraisal_runs_guideline_id_guidelines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_appraisal_runs_requested_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_runs'))
    )
    with op.batch_alter_table('appraisal_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_runs_guideline_id'), ['guideline_id'], unique=False)
        batch_op.create_index('ix_appraisal_runs_period', ['period_start', 'period_end'], unique=False)

    op.create_table('appraisal_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('composite', sa.Float(), nullable=True),
    sa.Column('weight_covered', sa.Float(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('percentile', sa.Float(), nullable=True),
    sa.Column('peers', sa.Integer(), nullable=False),
    sa.Column('team_mean', sa.Float(), nullable=True),
    sa.Column('org_mean', sa.Float(), nullable=True),
    sa.Column('previous_composite', sa.Float(), nullable=True),
    sa.Column('change', sa.Float(), nullable=True),
    sa.Column('targets_state', sa.String(length=10), nullable=False),
    sa.Column('attainment_streak', sa.Integer(), nullable=False),
    sa.Column('open_flags', sa.Integer(), nullable=False),
    sa.Column('case_mix', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('training_needs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_appraisal_results_employee_id_employees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['appraisal_runs.id'], name=op.f('fk_appraisal_results_run_id_appraisal_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_appraisal_results_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_results')),
    sa.UniqueConstraint('run_id', 'employee_id', name=op.f('uq_appraisal_results_run_id_employee_id'))
    )
    with op.batch_alter_table('appraisal_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_results_employee_id'), ['employee_id'], unique=False)

    op.create_table('metric_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=50), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('sufficient', sa.Boolean(), nullable=False),
    sa.Column('shrunk', sa.Float(), nullable=True),
    sa.Column('normalised', sa.Float(), nullable=True),
    sa.Column('team_mean', sa.Float(), nullable=True),
    sa.Column('org_mean', sa.Float(), nullable=True),
    sa.Column('previous_value', sa.Float(), nullable=True),
    sa.Column('previous_n', sa.Integer(), nullable=False),
    sa.Column('change', sa.Float(), nullable=True),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('attainment', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_metric_results_employee_id_employees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['appraisal_runs.id'], name=op.f('fk_metric_results_run_id_appraisal_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_metric_results_target_id_targets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_results')),
    sa.UniqueConstraint('run_id', 'employee_id', 'metric', name=op.f('uq_metric_results_run_id_employee_id_metric'))
    )
    with op.batch_alter_table('metric_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_results_employee_id'), ['employee_id'], unique=False)

    op.create_table('recommendations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.Float(), nullable=True),
    sa.Column('requested_amount', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('bonus', 'recognition', 'coaching', 'training')", name=op.f('ck_recommendations_known_kind')),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name=op.f('ck_recommendations_known_status')),
    sa.CheckConstraint('amount IS NULL OR amount >= 0', name=op.f('ck_recommendations_no_negative_amount')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_recommendations_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_recommendations_employee_id_employees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['appraisal_runs.id'], name=op.f('fk_recommendations_run_id_appraisal_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendations'))
    )
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendations_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index('ix_recommendations_run_employee', ['run_id', 'employee_id'], unique=False)

    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reassigned_to', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_disputes_reassigned_to_employees'), 'employees', ['reassigned_to'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('employee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('period_start', core.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('period_end', core.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=True))
        batch_op.alter_column('feedback_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_flags_employee_id'), ['employee_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_flags_check_employee_id_period_start_period_end'), ['check', 'employee_id', 'period_start', 'period_end'])
        batch_op.create_foreign_key(batch_op.f('fk_flags_employee_id_employees'), 'employees', ['employee_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('one_subject', '(feedback_id IS NULL) <> (employee_id IS NULL)')



def downgrade() -> None:
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_flags_one_subject'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_flags_employee_id_employees'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_flags_check_employee_id_period_start_period_end'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_flags_employee_id'))
        batch_op.alter_column('feedback_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('decision_note')
        batch_op.drop_column('period_end')
        batch_op.drop_column('period_start')
        batch_op.drop_column('employee_id')

    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_disputes_reassigned_to_employees'), type_='foreignkey')
        batch_op.drop_column('reassigned_to')

    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.drop_index('ix_recommendations_run_employee')
        batch_op.drop_index(batch_op.f('ix_recommendations_employee_id'))

    op.drop_table('recommendations')
    with op.batch_alter_table('metric_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_results_employee_id'))

    op.drop_table('metric_results')
    with op.batch_alter_table('appraisal_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_results_employee_id'))

    op.drop_table('appraisal_results')
    with op.batch_alter_table('appraisal_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_appraisal_runs_period')
        batch_op.drop_index(batch_op.f('ix_appraisal_runs_guideline_id'))

    op.drop_table('appraisal_runs')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_team_id'))
        batch_op.drop_index('ix_targets_metric_period')
        batch_op.drop_index(batch_op.f('ix_targets_employee_id'))

    op.drop_table('targets')
    op.drop_table('guidelines')
