"""accounts: one row per login, and the lookalike key of display names

Revision ID: daf8350774ab
Revises: 7c31e5a9d2f4
Create Date: 2026-12-01 10:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

import board.types
from board.accounts.names import name_key


# revision identifiers, used by Alembic.
revision = 'daf8350774ab'
down_revision = '7c31e5a9d2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=255), nullable=True))

    # Fill the keys. Lookalikes that already exist keep their names; the later account's key
    # gets its id, so the index holds and nobody new can take either look.
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('name_key', sa.String))
    conn = op.get_bind()
    taken = set()
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id)):
        key = name_key(name)[:240]
        if key in taken:
            key = f"{key}#{user_id}"
        taken.add(key)
        conn.execute(users.update().where(users.c.id == user_id).values(name_key=key))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_name_key'), ['name_key'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_name_key'), type_='unique')
        batch_op.drop_column('name_key')

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
