"""threads: an index for every order pages and feeds read them in, and their first post

Revision ID: 5e2b7c9d4a10
Revises: 2a7d9c5e3f18
Create Date: 2026-12-01 13:45:00

Board pages read a board's threads by (pinned, last activity, id), the feeds by (creation,
id), for the site and per board: each order gets its index, so that a page costs what it
shows whatever the number of threads (the listing's holds hidden_at too: a numbered page
skips the threads before it on the index alone). Staff's count of hidden threads reads a small partial
index. `threads.first_post_id` names the post that opened each thread (filled here for the
existing ones: the smallest post id of the thread, as the forum has always found it).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2b7c9d4a10'
down_revision = '2a7d9c5e3f18'
branch_labels = None
depends_on = None

HIDDEN = sa.text("hidden_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_post_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_threads_first_post_id_posts'), 'posts',
                                    ['first_post_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_index('ix_threads_listing')
        batch_op.create_index('ix_threads_listing',
                              ['board_id', 'pinned', 'last_activity_at', 'id', 'hidden_at'],
                              unique=False)
        batch_op.create_index('ix_threads_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_threads_board_created', ['board_id', 'created_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_threads_hidden', ['board_id'], unique=False,
                              postgresql_where=HIDDEN, sqlite_where=HIDDEN)
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_created', ['created_at', 'id'], unique=False)
    op.execute("UPDATE threads SET first_post_id = "
               "(SELECT min(posts.id) FROM posts WHERE posts.thread_id = threads.id)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE threads")


def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_created')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_index('ix_threads_hidden', postgresql_where=HIDDEN, sqlite_where=HIDDEN)
        batch_op.drop_index('ix_threads_board_created')
        batch_op.drop_index('ix_threads_created')
        batch_op.drop_index('ix_threads_listing')
        batch_op.create_index('ix_threads_listing', ['board_id', 'pinned', 'last_activity_at'],
                              unique=False)
        batch_op.drop_constraint(op.f('fk_threads_first_post_id_posts'), type_='foreignkey')
        batch_op.drop_column('first_post_id')
