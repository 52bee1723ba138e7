"""search: a trigram index of thread titles on PostgreSQL, for similar reports

Revision ID: 9d41c7e2b8a3
Revises: 5b2e8f3c9a14
Create Date: 2026-12-01 14:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9d41c7e2b8a3'
down_revision = '5b2e8f3c9a14'
branch_labels = None
depends_on = None


def upgrade():
    # pg_trgm was created with the search index (0011). SQLite ranks titles with FTS5.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_threads_title_trgm ON threads USING gin (title gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX ix_threads_title_trgm')
