"""forum: a thread merged as a duplicate names the thread it repeats; threads indexed by board
and change, for the guest cache's board stamp

Revision ID: 3f6a0d9e7c21
Revises: 9d41c7e2b8a3
Create Date: 2026-12-01 14:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f6a0d9e7c21'
down_revision = '9d41c7e2b8a3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_threads_duplicate_of_id_threads'), 'threads',
                                    ['duplicate_of_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_threads_board_changed', ['board_id', 'changed_at'])


def downgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_index('ix_threads_board_changed')
        batch_op.drop_constraint(batch_op.f('fk_threads_duplicate_of_id_threads'),
                                 type_='foreignkey')
        batch_op.drop_column('duplicate_of_id')
