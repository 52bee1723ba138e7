"""Keeping the index current: every flush that writes an indexed text writes its entry in the
same transaction.

Why ORM events rather than database triggers: the French analysis for SQLite runs in Python
(board/search/text.py), so a trigger could not do it; one listener serves both databases; and
the forum, Travaux and the lists stay unaware of search (it sits on top of them). What the
ORM does not see, bulk `insert()` as in `flask bench seed`, is caught up by
`flask search reindex` (services.reindex), which the seed calls.

Only texts are indexed. Visibility and status are read from the source rows at query time, so
hiding a post, moving a thread, resolving an incident or sending a list message re-indexes
nothing.
"""

from sqlalchemy import Text, bindparam, delete, event, func, insert, inspect, literal_column
from sqlalchemy.orm import Session

from board.extensions import db
from board.forum.models import Post, Thread
from board.lists.models import ListMessage
from board.search.models import CONFIG, INCIDENT, MESSAGE, POST, TITLE, UPDATE, SearchEntry
from board.search.text import plain_text, terms
from board.travaux.models import Incident, IncidentUpdate

# Which attributes of which model make up an entry, and how.
SOURCES = {
    Thread: (TITLE, ("title",), lambda t: (t.title, "")),
    Post: (POST, ("body_source",), lambda p: ("", plain_text(p.body_source))),
    Incident: (INCIDENT, ("title", "kind", "services"), lambda i: (i.title, _about(i))),
    IncidentUpdate: (UPDATE, ("body_source",), lambda u: ("", plain_text(u.body_source))),
    ListMessage: (MESSAGE, ("subject", "body_source"),
                  lambda m: (m.subject, plain_text(m.body_source))),
}


def _about(incident: Incident) -> str:
    """Words an incident is searched by beyond its title: its kind (in French, the language of
    the index) and its services' names."""
    kind = "maintenance" if incident.is_maintenance else "incident"
    return " ".join([kind] + [service.name for service in incident.services])


def entry_row(obj, model=None) -> dict:
    """The common columns of the entry for one source row (an object of `model`, or a row of
    its id, created_at and text columns)."""
    source, _, text_of = SOURCES[model or type(obj)]
    title, body = text_of(obj)
    return {"source": source, "source_id": obj.id, "created_at": obj.created_at,
            "title": title, "body": body}


def insert_entries(connection, rows: list[dict]) -> None:
    """Insert entries with their engine's columns: stemmed words for SQLite's FTS5 (computed
    here), a tsvector on PostgreSQL (computed by the database, from the same texts)."""
    if not rows:
        return
    stmt = insert(SearchEntry)
    if connection.dialect.name != "postgresql":
        rows = [{**row, "title_terms": " ".join(terms(row["title"])),
                 "body_terms": " ".join(terms(row["body"]))} for row in rows]
    else:
        config = literal_column(f"'{CONFIG}'::regconfig")
        # The column names are taken by VALUES: the same texts, bound once more.
        title = func.setweight(func.to_tsvector(config, bindparam("doc_title", type_=Text)),
                              literal_column("'A'"))
        body = func.setweight(func.to_tsvector(config, bindparam("doc_body", type_=Text)),
                             literal_column("'D'"))
        stmt = stmt.values(document=title.op("||")(body))
        rows = [{**row, "doc_title": row["title"], "doc_body": row["body"],
                 "title_terms": "", "body_terms": ""} for row in rows]
    connection.execute(stmt, rows)


def _changed(obj, names) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _index_flushed(session: Session, _context) -> None:
    """after_flush: write the entries of what this flush created or re-worded, drop those of
    what it deleted."""
    stale, fresh = [], []
    for obj in session.new:
        if type(obj) in SOURCES:
            fresh.append(obj)
    for obj in session.dirty:
        if type(obj) in SOURCES and _changed(obj, SOURCES[type(obj)][1]):
            stale.append(obj)
            fresh.append(obj)
    for obj in session.deleted:
        if type(obj) in SOURCES:
            stale.append(obj)
    if not (stale or fresh):
        return
    connection = session.connection()
    for obj in stale:
        connection.execute(delete(SearchEntry).where(
            SearchEntry.source == SOURCES[type(obj)][0], SearchEntry.source_id == obj.id))
    insert_entries(connection, [entry_row(obj) for obj in fresh])


def init_app(app) -> None:
    """Listen to every flush of the application's session (once, whatever the apps)."""
    if not event.contains(db.session, "after_flush", _index_flushed):
        event.listen(db.session, "after_flush", _index_flushed)
