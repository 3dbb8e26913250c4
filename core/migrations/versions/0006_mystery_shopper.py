"""mystery shopper: report templates (versioned), assignments, reports and their per-section/question results

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ms_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ms_templates_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ms_templates')),
    sa.UniqueConstraint('slug', 'version', name=op.f('uq_ms_templates_slug_version'))
    )
    op.create_table('ms_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('shopper_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('due_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('visit_from', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('visit_until', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('external_ref', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('assigned', 'cancelled')", name=op.f('ck_ms_assignments_known_status')),
    sa.CheckConstraint('(employee_id IS NOT NULL) OR (location IS NOT NULL)', name=op.f('ck_ms_assignments_has_subject')),
    sa.CheckConstraint('visit_from < visit_until', name=op.f('ck_ms_assignments_visit_window')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ms_assignments_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_ms_assignments_employee_id_employees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shopper_id'], ['users.id'], name=op.f('fk_ms_assignments_shopper_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['template_id'], ['ms_templates.id'], name=op.f('fk_ms_assignments_template_id_ms_templates'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ms_assignments'))
    )
    with op.batch_alter_table('ms_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ms_assignments_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ms_assignments_shopper_id'), ['shopper_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ms_assignments_template_id'), ['template_id'], unique=False)

    op.create_table('ms_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('visited_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('receipt_number', sa.String(length=100), nullable=True),
    sa.Column('photo_path', sa.String(length=300), nullable=True),
    sa.Column('photo_type', sa.String(length=50), nullable=True),
    sa.Column('integrity', sa.JSON(), nullable=False),
    sa.Column('served_by', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('submitted_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'returned', 'approved')", name=op.f('ck_ms_reports_known_status')),
    sa.ForeignKeyConstraint(['assignment_id'], ['ms_assignments.id'], name=op.f('fk_ms_reports_assignment_id_ms_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_ms_reports_reviewed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['served_by'], ['employees.id'], name=op.f('fk_ms_reports_served_by_employees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['ms_templates.id'], name=op.f('fk_ms_reports_template_id_ms_templates'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ms_reports')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_ms_reports_assignment_id'))
    )
    with op.batch_alter_table('ms_reports', schema=None) as batch_op:
        batch_op.create_index('ix_ms_reports_status', ['status'], unique=False)

    op.create_table('ms_question_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=50), nullable=False),
    sa.Column('section', sa.String(length=100), nullable=False),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('max_points', sa.Float(), nullable=True),
    sa.Column('applicable', sa.Boolean(), nullable=False),
    sa.Column('critical_failed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['ms_reports.id'], name=op.f('fk_ms_question_results_report_id_ms_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ms_question_results')),
    sa.UniqueConstraint('report_id', 'question', name=op.f('uq_ms_question_results_report_id_question'))
    )
    with op.batch_alter_table('ms_question_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ms_question_results_report_id'), ['report_id'], unique=False)

    op.create_table('ms_section_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('max_points', sa.Float(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['ms_reports.id'], name=op.f('fk_ms_section_results_report_id_ms_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ms_section_results')),
    sa.UniqueConstraint('report_id', 'section', name=op.f('uq_ms_section_results_report_id_section'))
    )


def downgrade() -> None:
    op.drop_table('ms_section_results')
    with op.batch_alter_table('ms_question_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ms_question_results_report_id'))

    op.drop_table('ms_question_results')
    with op.batch_alter_table('ms_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_ms_reports_status')

    op.drop_table('ms_reports')
    with op.batch_alter_table('ms_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ms_assignments_template_id'))
        batch_op.drop_index(batch_op.f('ix_ms_assignments_shopper_id'))
        batch_op.drop_index(batch_op.f('ix_ms_assignments_employee_id'))

    op.drop_table('ms_assignments')
    op.drop_table('ms_templates')
