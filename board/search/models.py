"""The search index: one entry per indexed text (a thread's title, a post, an incident's title,
an incident update, a list message), pointing back at its source row.

Entries hold the words, never who may read them: a search joins each entry to its source and
asks board/visibility.py, so hiding, moving or publishing something needs no re-indexing.
Each database matches in its own way beside the same rows:
- PostgreSQL: `document`, a tsvector (title weighted A, body D) under a GIN index;
- SQLite: `title_terms` and `body_terms`, the stemmed words (board/search/text.py), which the
  FTS5 table `search_fts` indexes (external content, kept by triggers: see the migration).
"""

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from board.extensions import db
from board.types import UTCDateTime, postgresql_options

# What an entry was made from (`source`), and which result it belongs to (`kind`).
TITLE, POST, INCIDENT, UPDATE, MESSAGE = "title", "post", "incident", "update", "message"
THREAD_KIND, INCIDENT_KIND, LIST_KIND = "thread", "incident", "list"
KINDS = (THREAD_KIND, INCIDENT_KIND, LIST_KIND)
# The text search configuration the migration creates on PostgreSQL.
CONFIG = "board_fr"
# Tables the database keeps for SQLite's FTS5 beside search_entries (no model describes them).
FTS_TABLE = "search_fts"
ENGINE_TABLES = frozenset(FTS_TABLE + suffix for suffix in
                          ("", "_data", "_idx", "_docsize", "_config", "_content"))
# PostgreSQL's index of thread titles' trigrams by date (similar reports, btree_gin), made by
# its migration: a model cannot describe operator classes that SQLite lacks.
ENGINE_INDEXES = frozenset({"ix_threads_recent_title_trgm"})


class SearchDocument(TypeDecorator):
    """A tsvector on PostgreSQL; an unused text column elsewhere."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            # Imported here: SQLite never loads the PostgreSQL dialect's 2 MB.
            from sqlalchemy.dialects.postgresql import TSVECTOR

            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(Text())


class SearchEntry(db.Model):
    __tablename__ = "search_entries"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        postgresql_options(Index("ix_search_entries_document", "document"), using="gin"),
        # The newest matches first: PostgreSQL's search weighs those (services._hits).
        Index("ix_search_entries_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    title_terms: Mapped[str] = mapped_column(Text, default="")
    body_terms: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str | None] = mapped_column(SearchDocument())
