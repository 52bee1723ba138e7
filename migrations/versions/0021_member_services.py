"""travaux: the services each member says they use ("my services")

Revision ID: 8d3f1a6c2b94
Revises: 4c9e1f7a3b52
Create Date: 2026-12-01 16:10:00

One row per (member, service). Deleting either deletes the row.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d3f1a6c2b94'
down_revision = '4c9e1f7a3b52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'member_services',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_member_services_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['service_id'], ['services.id'],
                                name=op.f('fk_member_services_service_id_services'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'service_id', name=op.f('pk_member_services')),
    )
    with op.batch_alter_table('member_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_services_service_id'), ['service_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('member_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_services_service_id'))
    op.drop_table('member_services')
