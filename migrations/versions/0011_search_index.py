"""search: the full-text index (search_entries; tsvector and GIN on PostgreSQL, FTS5 on SQLite)

Revision ID: 7c31e5a9d2f4
Revises: 1ab552042a9a
Create Date: 2026-12-01 11:10:00

"""
from alembic import op
import sqlalchemy as sa

import board.search.models
import board.types


# revision identifiers, used by Alembic.
revision = '7c31e5a9d2f4'
down_revision = '1ab552042a9a'
branch_labels = None
depends_on = None

# French, accents folded before stemming (so "reseau" finds "réseau"); numbers and names
# like "web7" or "503" keep the French configuration's simple dictionary.
PG_CONFIG = """
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
DROP TEXT SEARCH CONFIGURATION IF EXISTS board_fr;
CREATE TEXT SEARCH CONFIGURATION board_fr (COPY = french);
ALTER TEXT SEARCH CONFIGURATION board_fr
    ALTER MAPPING FOR hword, hword_part, word, asciiword, asciihword, hword_asciipart
    WITH unaccent, french_stem;
"""

# External content: FTS5 reads the stemmed words from search_entries, and these triggers
# keep its index in step with every insert, update and delete there.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title_terms, body_terms, "
    "content='search_entries', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN "
    "INSERT INTO search_fts(rowid, title_terms, body_terms) "
    "VALUES (new.id, new.title_terms, new.body_terms); END",
    "CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title_terms, body_terms) "
    "VALUES ('delete', old.id, old.title_terms, old.body_terms); END",
    "CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title_terms, body_terms) "
    "VALUES ('delete', old.id, old.title_terms, old.body_terms); "
    "INSERT INTO search_fts(rowid, title_terms, body_terms) "
    "VALUES (new.id, new.title_terms, new.body_terms); END",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(PG_CONFIG)
    op.create_table('search_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('title_terms', sa.Text(), nullable=False),
    sa.Column('body_terms', sa.Text(), nullable=False),
    sa.Column('document', board.search.models.SearchDocument(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entries')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_search_entries_source'))
    )
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.create_index('ix_search_entries_document', ['document'], unique=False,
                              postgresql_using='gin')
    if dialect == 'sqlite':
        for statement in SQLITE_FTS:
            op.execute(statement)
    # Existing rows are indexed by `flask search reindex` (see board/search/services.py).


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name in ('search_entries_ai', 'search_entries_ad', 'search_entries_au'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_search_entries_document', postgresql_using='gin')
    op.drop_table('search_entries')
    if dialect == 'postgresql':
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS board_fr")
