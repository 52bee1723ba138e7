"""forum: unread tracking (each member's last post read per thread, "mark all read" per board
and for the whole forum) and solved help threads (a board setting, the solution reply)

Revision ID: c4d29e1f7a30
Revises: a6e9033ae577
Create Date: 2026-12-01 19:05:42.789108

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = 'c4d29e1f7a30'
down_revision = 'a6e9033ae577'
branch_labels = None
depends_on = None

BOARD_SET = sa.text('board_id IS NOT NULL')
EVERY_BOARD = sa.text('board_id IS NULL')


def upgrade():
    op.create_table('thread_reads',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('last_read_post_id', sa.Integer(), nullable=False),
    sa.Column('read_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_reads_thread_id_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thread_reads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'thread_id', name=op.f('pk_thread_reads'))
    )
    op.create_table('board_reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('board_id', sa.Integer(), nullable=True),
    sa.Column('read_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_board_reads_board_id_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_board_reads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_reads'))
    )
    with op.batch_alter_table('board_reads', schema=None) as batch_op:
        batch_op.create_index('uq_board_reads_all', ['user_id'], unique=True,
                              postgresql_where=EVERY_BOARD, sqlite_where=EVERY_BOARD)
        batch_op.create_index('uq_board_reads_board', ['user_id', 'board_id'], unique=True,
                              postgresql_where=BOARD_SET, sqlite_where=BOARD_SET)
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('solvable', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('solution_post_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_threads_solution_post_id_posts'), 'posts',
                                    ['solution_post_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_threads_solution_post_id_posts'), type_='foreignkey')
        batch_op.drop_column('solution_post_id')
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.drop_column('solvable')
    with op.batch_alter_table('board_reads', schema=None) as batch_op:
        batch_op.drop_index('uq_board_reads_board', postgresql_where=BOARD_SET, sqlite_where=BOARD_SET)
        batch_op.drop_index('uq_board_reads_all', postgresql_where=EVERY_BOARD, sqlite_where=EVERY_BOARD)
    op.drop_table('board_reads')
    op.drop_table('thread_reads')
