"""Identities in Unicode's composed form (NFC), as they are matched from now on

An identity stored decomposed ("Zoe" + U+0308) would no longer match anything once every incoming name is
composed. Identities and the names items wait under are rewritten composed; an identity whose composed form
another already has is left as it is (and logged), since the two could not both be stored.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26
"""
import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    identities = sa.table("employee_identities", sa.column("id", sa.Integer), sa.column("provider", sa.String),
                          sa.column("external_id", sa.String))
    rows = bind.execute(sa.select(identities.c.id, identities.c.provider, identities.c.external_id)).all()
    taken = {(provider, external_id) for _, provider, external_id in rows}
    for row_id, provider, external_id in rows:
        composed = unicodedata.normalize("NFC", external_id)
        if composed == external_id:
            continue
        if (provider, composed) in taken:
            log.warning("identity %s:%s kept as it is: its composed form belongs to another identity",
                        provider, external_id)
            continue
        bind.execute(identities.update().where(identities.c.id == row_id).values(external_id=composed))
        taken.add((provider, composed))
    # Items waiting in the queue under a name: only those can be decomposed, so only they are read.
    feedback = sa.table("feedback", sa.column("id", sa.Integer), sa.column("attributed_identity", sa.String),
                        sa.column("employee_id", sa.Integer))
    waiting = bind.execute(sa.select(feedback.c.id, feedback.c.attributed_identity).where(
        feedback.c.employee_id.is_(None), feedback.c.attributed_identity.is_not(None))).all()
    for row_id, identity in waiting:
        composed = unicodedata.normalize("NFC", identity)
        if composed != identity:
            bind.execute(feedback.update().where(feedback.c.id == row_id).values(attributed_identity=composed))


def downgrade() -> None:
    pass  # the composed form is as good a spelling as any to the code before it
