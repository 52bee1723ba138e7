"""forum: a report names the service it is about; a board names the default one

Revision ID: 6c8e2a4f1b07
Revises: 3f6a0d9e7c21
Create Date: 2026-12-01 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6c8e2a4f1b07'
down_revision = '3f6a0d9e7c21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_service_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_boards_default_service_id_services'),
                                    'services', ['default_service_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_threads_service_id_services'), 'services',
                                    ['service_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_threads_service_created', ['service_id', 'created_at'])


def downgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_index('ix_threads_service_created')
        batch_op.drop_constraint(batch_op.f('fk_threads_service_id_services'),
                                 type_='foreignkey')
        batch_op.drop_column('service_id')
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_boards_default_service_id_services'),
                                 type_='foreignkey')
        batch_op.drop_column('default_service_id')
