"""travaux: suspected incidents (bursts of reports on a service); admins' spike alerts

Revision ID: 2a7d9c5e3f18
Revises: 6c8e2a4f1b07
Create Date: 2026-12-01 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = '2a7d9c5e3f18'
down_revision = '6c8e2a4f1b07'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('suspected_incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('first_report_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('detected_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_signal_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signals', sa.Integer(), nullable=False),
    sa.Column('peak', sa.Integer(), nullable=False),
    sa.Column('baseline', sa.Float(), nullable=False),
    sa.Column('closed_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_suspected_incidents_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_suspected_incidents_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspected_incidents'))
    )
    op.create_index('ix_suspected_incidents_open', 'suspected_incidents', ['service_id'],
                    unique=True, sqlite_where=sa.text('closed_at IS NULL'),
                    postgresql_where=sa.text('closed_at IS NULL'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spike_alerts', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('spike_alerts')
    op.drop_index('ix_suspected_incidents_open', table_name='suspected_incidents')
    op.drop_table('suspected_incidents')
