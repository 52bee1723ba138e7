"""forum: members' profiles (bio, last visit) and flags on posts with their queue

Revision ID: bb4a39e175b5
Revises: 69bda5f60001
Create Date: 2026-12-01 19:06:54.240640

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = 'bb4a39e175b5'
down_revision = '69bda5f60001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('bio_source', sa.Text(), nullable=False),
    sa.Column('bio_html', sa.Text(), nullable=False),
    sa.Column('updated_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_member_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_member_profiles'))
    )
    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_flags_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_flags_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_flags_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags')),
    sa.UniqueConstraint('post_id', 'user_id', name='uq_flags_post_user')
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index('ix_flags_open', ['resolved_at', 'post_id'], unique=False)

    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_author_created', ['author_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.create_index('ix_threads_author_created', ['author_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', board.types.UTCDateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')

    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_index('ix_threads_author_created')

    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_author_created')

    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index('ix_flags_open')

    op.drop_table('flags')
    op.drop_table('member_profiles')
