"""pagecache: the generations that guests' cached pages are keyed by

Revision ID: 5b2e8f3c9a14
Revises: daf8350774ab
Create Date: 2026-12-01 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = '5b2e8f3c9a14'
down_revision = 'daf8350774ab'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site_stamps',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('changed_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_site_stamps'))
    )


def downgrade():
    op.drop_table('site_stamps')
