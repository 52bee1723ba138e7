"""Similar reports while writing: before a member opens a thread, what is already known about
the problem they are about to describe ("is it just me?").

Two lists, in this order: the operations going on now (incidents and maintenance in progress,
those on the chosen service first), then the open threads of the last SIMILAR_DAYS days whose
titles look most like the title being typed, each with its "affected" count. PostgreSQL
compares titles by trigrams (pg_trgm, under a GIN index: "lenteur sur web7" finds "Lenteurs
web7"); SQLite ranks them with FTS5 over the stemmed words of titles. Both go through
board/visibility.py: the box never shows what the reader could not open.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import column, func, literal_column, select, table
from sqlalchemy.orm import joinedload

from board.clock import now
from board.extensions import db
from board.forum.models import Thread
from board.search.models import FTS_TABLE, TITLE, SearchEntry
from board.search.text import WORD, term
from board.travaux import services as travaux
from board.travaux.models import Incident
from board.visibility import visible_threads

SIMILAR_DAYS = 30
SIMILAR_MAX = 5
# pg_trgm's similarity below which two titles are not alike (its own default is 0.3, too
# strict for titles of four or five words typed in a hurry).
TRIGRAM_THRESHOLD = 0.2
MAX_TITLE = 150


@dataclass
class Similar:
    ongoing: list[Incident]
    threads: list[Thread]

    def __bool__(self) -> bool:
        return bool(self.ongoing or self.threads)


def similar(title: str, viewer, service_id: int | None = None) -> Similar:
    """What the box shows for `title` (and the chosen service), for `viewer`."""
    return Similar(ongoing_first(service_id), similar_threads(title, viewer, service_id))


def ongoing_first(service_id: int | None) -> list[Incident]:
    """Operations going on now, those on `service_id` first (2 queries: the operations and
    their services)."""
    ongoing = travaux.overview(with_services=False).ongoing
    return sorted(ongoing, key=lambda i: service_id not in {s.id for s in i.services})


def similar_threads(title: str, viewer, service_id: int | None = None) -> list[Thread]:
    """The open threads of the last SIMILAR_DAYS days most like `title`, best first; those
    about `service_id` before the others."""
    title = " ".join(title.split())[:MAX_TITLE]
    words = [found for word in WORD.findall(title) if (found := term(word))]
    if not words:
        return []
    since = now() - timedelta(days=SIMILAR_DAYS)
    stmt = (select(Thread).where(Thread.created_at >= since, Thread.resolved_at.is_(None),
                                 Thread.locked_at.is_(None))
            .options(joinedload(Thread.board)))
    same_service = [(Thread.service_id == service_id).desc()] if service_id else []
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(func.set_config("pg_trgm.similarity_threshold",
                                                  str(TRIGRAM_THRESHOLD), True)))
        stmt = (stmt.where(Thread.title.op("%")(title))
                .order_by(*same_service, func.similarity(Thread.title, title).desc(),
                          Thread.id.desc()))
    else:
        fts = table(FTS_TABLE, column("rowid"))
        match = "title_terms : (" + " OR ".join(f'"{w}"' for w in dict.fromkeys(words)) + ")"
        rank = func.bm25(literal_column(FTS_TABLE))
        stmt = (stmt.join(SearchEntry, (SearchEntry.source == TITLE)
                          & (SearchEntry.source_id == Thread.id))
                .join(fts, fts.c.rowid == SearchEntry.id)
                .where(literal_column(FTS_TABLE).op("MATCH")(match))
                .order_by(*same_service, rank, Thread.id.desc()))
    return list(db.session.scalars(visible_threads(stmt, viewer).limit(SIMILAR_MAX)))
