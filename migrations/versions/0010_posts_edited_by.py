"""posts remember who edited them last

Revision ID: 1ab552042a9a
Revises: 149cd40934a9
Create Date: 2026-12-01 11:30:00

A post edited by someone other than its author says so ("modifié par Luc"). Earlier edits
are unknown: the column stays empty for them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1ab552042a9a'
down_revision = '149cd40934a9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_posts_edited_by_id_users'), 'users',
                                    ['edited_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_posts_edited_by_id_users'), type_='foreignkey')
        batch_op.drop_column('edited_by_id')
