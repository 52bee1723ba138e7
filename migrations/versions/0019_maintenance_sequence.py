"""incidents.sequence: the revision of a maintenance, for calendars

Revision ID: 7b1d4e9a2c36
Revises: 5e2b7c9d4a10
Create Date: 2026-12-01 16:20:00

A maintenance rescheduled or cancelled goes to calendars with a higher SEQUENCE, so that a
calendar application replaces the event it holds. Existing rows start at 0. The maintenance
status `cancelled` needs no schema change (statuses are strings).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b1d4e9a2c36'
down_revision = '5e2b7c9d4a10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('sequence')
