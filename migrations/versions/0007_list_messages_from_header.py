"""list messages: the From header of mail received, next to its envelope sender

Revision ID: cde0b2974e0b
Revises: 2bc084db76d7
Create Date: 2026-12-01 10:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cde0b2974e0b'
down_revision = '2bc084db76d7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('list_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_header', sa.String(length=320), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('list_messages', schema=None) as batch_op:
        batch_op.drop_column('from_header')
