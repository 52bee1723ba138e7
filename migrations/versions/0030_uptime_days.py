"""travaux: uptime per service and local day (minutes in each state, maintenance apart),
and the community's marks per service and day, which staff may hide; the backlog of days to
count again

Revision ID: 50a352302093
Revises: 1116677d5745
Create Date: 2026-12-01 19:05:57.231456

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = '50a352302093'
down_revision = '1116677d5745'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_days',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.Column('affected', sa.Integer(), nullable=False),
    sa.Column('hidden_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_community_days_hidden_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_community_days_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'day', name=op.f('pk_community_days'))
    )
    with op.batch_alter_table('community_days', schema=None) as batch_op:
        batch_op.create_index('ix_community_days_day', ['day', 'service_id'], unique=False)

    op.create_table('uptime_days',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('degraded_minutes', sa.Integer(), nullable=False),
    sa.Column('partial_minutes', sa.Integer(), nullable=False),
    sa.Column('major_minutes', sa.Integer(), nullable=False),
    sa.Column('maintenance_minutes', sa.Integer(), nullable=False),
    sa.Column('operations', sa.JSON(), nullable=False),
    sa.Column('computed_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_uptime_days_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'day', name=op.f('pk_uptime_days'))
    )
    with op.batch_alter_table('uptime_days', schema=None) as batch_op:
        batch_op.create_index('ix_uptime_days_day', ['day', 'service_id'], unique=False)


    op.create_table('uptime_backlog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('track', sa.String(length=10), nullable=False),
    sa.Column('first', sa.Date(), nullable=False),
    sa.Column('last', sa.Date(), nullable=False),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uptime_backlog'))
    )


def downgrade():
    op.drop_table('uptime_backlog')
    with op.batch_alter_table('uptime_days', schema=None) as batch_op:
        batch_op.drop_index('ix_uptime_days_day')
    op.drop_table('uptime_days')
    with op.batch_alter_table('community_days', schema=None) as batch_op:
        batch_op.drop_index('ix_community_days_day')
    op.drop_table('community_days')
