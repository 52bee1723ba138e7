"""forum: notification preferences per kind, and the mail batches of notifications

Revision ID: e8fcc1d07928
Revises: 50a352302093
Create Date: 2026-12-01 19:05:55.988429

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8fcc1d07928'
down_revision = '50a352302093'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('delivery', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_settings'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_site', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('mail_state', sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('mail_state')
        batch_op.drop_column('in_site')
    op.drop_table('notification_settings')
