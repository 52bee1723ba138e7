"""travaux: incident templates (name, title, message, status, impact, services)

Revision ID: b27c0e1f5a10
Revises: c4d29e1f7a30
Create Date: 2026-12-01 19:04:44.547992

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b27c0e1f5a10'
down_revision = 'c4d29e1f7a30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incident_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('impact', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_incident_templates_name'))
    )
    op.create_table('incident_template_services',
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_incident_template_services_service_id_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['incident_templates.id'], name=op.f('fk_incident_template_services_template_id_incident_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('template_id', 'service_id', name=op.f('pk_incident_template_services'))
    )


def downgrade():
    op.drop_table('incident_template_services')
    op.drop_table('incident_templates')
