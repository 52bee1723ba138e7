"""travaux: mail subscriptions (all, services, one incident) and maintenance reminders sent

Revision ID: 7d3f1a9c2e54
Revises: 8d3f1a6c2b94
Create Date: 2026-12-01 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = '7d3f1a9c2e54'
down_revision = '8d3f1a6c2b94'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('travaux_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('all_services', sa.Boolean(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('confirm_hash', sa.String(length=64), nullable=True),
    sa.Column('confirm_sent_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_travaux_subscriptions_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_travaux_subscriptions_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_travaux_subscriptions')),
    sa.UniqueConstraint('confirm_hash', name=op.f('uq_travaux_subscriptions_confirm_hash')),
    sa.UniqueConstraint('email', 'incident_id', name=op.f('uq_travaux_subscriptions_email')),
    sa.UniqueConstraint('token', name=op.f('uq_travaux_subscriptions_token'))
    )
    op.create_index('ix_travaux_subscriptions_general', 'travaux_subscriptions', ['email'],
                    unique=True, sqlite_where=sa.text('incident_id IS NULL'),
                    postgresql_where=sa.text('incident_id IS NULL'))
    op.create_index('ix_travaux_subscriptions_incident', 'travaux_subscriptions',
                    ['incident_id', 'status'])
    op.create_index(op.f('ix_travaux_subscriptions_user_id'), 'travaux_subscriptions',
                    ['user_id'])
    op.create_table('travaux_subscription_services',
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_travaux_subscription_services_service_id_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['travaux_subscriptions.id'], name=op.f('fk_travaux_subscription_services_subscription_id_travaux_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscription_id', 'service_id', name=op.f('pk_travaux_subscription_services'))
    )
    op.create_index(op.f('ix_travaux_subscription_services_service_id'),
                    'travaux_subscription_services', ['service_id'])
    op.create_table('maintenance_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('lead_minutes', sa.Integer(), nullable=False),
    sa.Column('window_start', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_maintenance_reminders_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_reminders')),
    sa.UniqueConstraint('incident_id', 'lead_minutes', 'window_start', name=op.f('uq_maintenance_reminders_incident_id'))
    )


def downgrade():
    op.drop_table('maintenance_reminders')
    op.drop_index(op.f('ix_travaux_subscription_services_service_id'),
                  table_name='travaux_subscription_services')
    op.drop_table('travaux_subscription_services')
    op.drop_index(op.f('ix_travaux_subscriptions_user_id'), table_name='travaux_subscriptions')
    op.drop_index('ix_travaux_subscriptions_incident', table_name='travaux_subscriptions')
    op.drop_index('ix_travaux_subscriptions_general', table_name='travaux_subscriptions')
    op.drop_table('travaux_subscriptions')
