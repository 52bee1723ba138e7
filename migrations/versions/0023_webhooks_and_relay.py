"""travaux: webhook endpoints and their delivery log; the social relay's settings and statuses

Revision ID: 7e8a8c6f1d6d
Revises: 7d3f1a9c2e54
Create Date: 2026-12-01 16:01:51.612158

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = '7e8a8c6f1d6d'
down_revision = '7d3f1a9c2e54'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('relay_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_url', sa.String(length=300), nullable=False),
    sa.Column('access_token', sa.String(length=300), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relay_settings'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('staff_only', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=60), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('attempted_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_endpoint', ['endpoint_id', 'attempted_at'], unique=False)

    op.create_table('webhook_services',
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_services_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_webhook_services_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('endpoint_id', 'service_id', name=op.f('pk_webhook_services'))
    )
    op.create_table('relayed_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('status_id', sa.String(length=64), nullable=True),
    sa.Column('status_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_relayed_statuses_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_relayed_statuses_outbox_id_outbox'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['relayed_statuses.id'], name=op.f('fk_relayed_statuses_parent_id_relayed_statuses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relayed_statuses')),
    sa.UniqueConstraint('key', name=op.f('uq_relayed_statuses_key'))
    )
    with op.batch_alter_table('relayed_statuses', schema=None) as batch_op:
        batch_op.create_index('ix_relayed_statuses_incident', ['incident_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('relayed_statuses', schema=None) as batch_op:
        batch_op.drop_index('ix_relayed_statuses_incident')

    op.drop_table('relayed_statuses')
    op.drop_table('webhook_services')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_endpoint')

    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
    op.drop_table('relay_settings')
