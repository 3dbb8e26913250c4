"""social sources: any client plugin's kind, the client's state between polls, and a push source's secret

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

import core.models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_sources = sa.table('sm_sources', sa.column('id', sa.Integer()), sa.column('etag', sa.String()),
                    sa.column('last_modified', sa.String()), sa.column('state', sa.JSON()))


def upgrade() -> None:
    with op.batch_alter_table('sm_sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('push_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('last_success_at', core.models.base.UTCDateTime(), nullable=True))
    # A feed's validators move into its client's state, so a feed polled before fetches conditionally still.
    connection = op.get_bind()
    for source_id, etag, modified in connection.execute(
            sa.select(_sources.c.id, _sources.c.etag, _sources.c.last_modified)).all():
        state = {key: value for key, value in (("etag", etag), ("last_modified", modified)) if value}
        connection.execute(_sources.update().where(_sources.c.id == source_id).values(state=state))
    with op.batch_alter_table('sm_sources', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint(batch_op.f('ck_sm_sources_known_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=10), type_=sa.String(length=50))
        batch_op.create_check_constraint(batch_op.f('ck_sm_sources_kind_not_empty'), "kind <> ''")
        batch_op.drop_column('etag')
        batch_op.drop_column('last_modified')


def downgrade() -> None:
    with op.batch_alter_table('sm_sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('etag', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('last_modified', sa.String(length=100), nullable=True))
    connection = op.get_bind()
    for source_id, state in connection.execute(sa.select(_sources.c.id, _sources.c.state)).all():
        state = state or {}
        connection.execute(_sources.update().where(_sources.c.id == source_id)
                           .values(etag=state.get('etag'), last_modified=state.get('last_modified')))
    # Sources of a plugin's kind cannot be kept under the old constraint.
    op.execute("DELETE FROM sm_sources WHERE kind NOT IN ('rss', 'push')")
    with op.batch_alter_table('sm_sources', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_sm_sources_kind_not_empty'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=50), type_=sa.String(length=10))
        batch_op.create_check_constraint(batch_op.f('ck_sm_sources_known_kind'), "kind IN ('rss', 'push')")
        batch_op.drop_column('last_success_at')
        batch_op.drop_column('push_secret')
        batch_op.drop_column('state')
