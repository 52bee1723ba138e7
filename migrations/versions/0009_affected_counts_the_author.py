"""a thread's affected_count counts its author

Revision ID: 149cd40934a9
Revises: 7db674a23518
Create Date: 2026-12-01 11:20:00

affected_count was the members other than the author who said "me too"; it is now every
member affected, the author (who reported it) included, as the pages say it ("1 membre
concerné" on a new report). Stored counts are recounted from the rows, plus one: this also
repairs counts that concurrent clicks had left short.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '149cd40934a9'
down_revision = '7db674a23518'
branch_labels = None
depends_on = None

_CLICKS = "(SELECT count(*) FROM affected WHERE affected.thread_id = threads.id)"


def upgrade():
    op.execute(f"UPDATE threads SET affected_count = 1 + {_CLICKS}")
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.alter_column('affected_count', existing_type=sa.Integer(),
                              existing_nullable=False, server_default='1')


def downgrade():
    op.execute(f"UPDATE threads SET affected_count = {_CLICKS}")
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.alter_column('affected_count', existing_type=sa.Integer(),
                              existing_nullable=False, server_default='0')
