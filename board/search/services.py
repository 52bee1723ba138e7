"""Searching: a visitor's words become a query of each database's full-text index, joined to
the indexed rows so that board/visibility.py decides what the viewer may find.

One statement finds, filters, groups and pages the results: the matching entries, kept only
when the viewer may see their source, grouped into threads, incidents and list messages,
ordered by relevance or date and cut at a keyset cursor, with the best entry's snippet. A few
more load what the page shows of them (one per kind of result), whatever the number of hits.
"""

import base64
import binascii
import heapq
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    String,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload

from board.clock import now
from board.extensions import db
from board.forum.models import Board, Post, Thread
from board.lists.models import ListMessage
from board.search.index import SOURCES, entry_row, insert_entries
from board.search.models import (
    CONFIG,
    FTS_TABLE,
    INCIDENT,
    INCIDENT_KIND,
    KINDS,
    LIST_KIND,
    MESSAGE,
    POST,
    THREAD_KIND,
    TITLE,
    UPDATE,
    SearchEntry,
)
from board.search.text import (
    MARK_END,
    MARK_START,
    MAX_QUERY,
    WORD,
    clean_query,
    from_headline,
    highlight,
    term,
)
from board.travaux.models import CLOSED, Incident, IncidentUpdate, Service, incident_services
from board.travaux.services import status_label
from board.types import UTCDateTime
from board.visibility import visible_list_messages, visible_posts, visible_threads

OPEN, RESOLVED = "open", "resolved"
STATUSES = (OPEN, RESOLVED)
RELEVANCE, DATE = "relevance", "date"
SORTS = (RELEVANCE, DATE)
# A thread's score: its best entry, plus a little for each other matching post or title.
SPREAD = 0.2
TITLE_WEIGHT = 4.0  # SQLite's bm25 weight of a title against a body (1.0)
# Fresh results first among equals: a result's score is multiplied by
# 1 + FRESHNESS * FRESH_DAYS / (FRESH_DAYS + its age in days), its age counted from its newest
# matching entry (x2 today, x1.5 at a week, x1.2 at a month, x1.02 at ten months). On the day
# of an outage, this morning's report comes before last spring's incident with the same words.
# (The judged set, tests/search/test_relevance.py: 7 days reached more firsts than 14 or 30.)
FRESHNESS = 1.0
FRESH_DAYS = 7
# Entries a search weighs at most (see _hits), and which sources each kind of result has.
MAX_HITS = 1000
KIND_SOURCES = {THREAD_KIND: (TITLE, POST), INCIDENT_KIND: (INCIDENT, UPDATE),
                LIST_KIND: (MESSAGE,)}
HEADLINE = (f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=40, MinWords=20, '
            'MaxFragments=2, FragmentDelimiter=" … "')


class SearchError(ValueError):
    """A query that cannot run, with the message to show."""


@dataclass
class Query:
    text: str
    board: str | None = None
    service: str | None = None
    kind: str | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None
    sort: str = RELEVANCE
    after: str | None = None


@dataclass
class Result:
    kind: str
    id: int
    title: str
    url: str
    snippet: Markup
    place: str
    status: str
    resolved: bool
    at: datetime
    affected: int | None
    solved: bool = False  # a help thread with a reply marked as its solution


@dataclass
class Page:
    results: list[Result]
    next_cursor: str | None
    some_words: bool = False


# Words --------------------------------------------------------------------------------------

def query_terms(text: str) -> list[list[tuple[bool, str]]]:
    """The typed words as groups joined by "or", each a list of (wanted, term): "-mot"
    excludes a word, as websearch_to_tsquery reads it on PostgreSQL. Raises SearchError."""
    if len(" ".join(text.split())) > MAX_QUERY:
        raise SearchError(_l("Your search is too long: %(count)d characters at most.",
                             count=MAX_QUERY))
    groups: list[list[tuple[bool, str]]] = [[]]
    for token in clean_query(text).split():
        if token.lower() == "or" and groups[-1]:
            groups.append([])
            continue
        wanted = not (token.startswith("-") and len(token) > 1)
        for word in WORD.findall(token):
            found = term(word)
            if found:
                groups[-1].append((wanted, found))
    groups = [g for g in groups if any(wanted for wanted, _ in g)]
    if not groups:
        raise SearchError(_l("Type one or more words to search for (very common words such "
                             "as « le » or « sur » are left out)."))
    return groups


def _fts5_match(groups) -> str:
    """An FTS5 expression in which every term is quoted: the terms hold only letters and
    digits, so nothing the visitor typed is read as FTS5 syntax (AND, NEAR, *, ")."""
    parts = []
    for group in groups:
        wanted = " ".join(f'"{t}"' for w, t in dict.fromkeys(group) if w)
        unwanted = "".join(f' NOT "{t}"' for w, t in dict.fromkeys(group) if not w)
        parts.append(f"({wanted}{unwanted})")
    return " OR ".join(parts)


def _match(query: Query, groups, any_word: bool) -> str:
    """What the database matches: on PostgreSQL the text for websearch_to_tsquery (the typed
    text, or its words joined by "or"), on SQLite an FTS5 expression of quoted stems."""
    postgres = db.engine.dialect.name == "postgresql"
    if not any_word:
        return clean_query(query.text) if postgres else _fts5_match(groups)
    if postgres:
        words = [w for token in clean_query(query.text).split()
                 if token.lower() != "or" and not token.startswith("-")
                 for w in WORD.findall(token) if term(w)]
        return " or ".join(words)
    wanted = {t: True for group in groups for w, t in group if w}
    return " OR ".join(f'"{t}"' for t in wanted)


def _hits(query: Query, match: str, max_hits: int):
    """The matching entries a search weighs, with their rank (higher is better): the newest
    `max_hits` matches, ranked afterwards. Ranking every match of a word found nearly
    everywhere cost seconds at a million posts on PostgreSQL, a third of a second at 100,000
    on SQLite; this costs a few milliseconds. PostgreSQL finds them by the entries'
    (created_at, id) index, which its planner walks backwards for a common word and skips
    for a rare one; SQLite by FTS5's rowid order. Results are still exact for the viewer,
    only fewer pages reach that far, and sorted by date they are exactly the newest."""
    entry = SearchEntry
    zone = get_timezone()
    where = []
    if query.kind:
        where.append(entry.source.in_(KIND_SOURCES[query.kind]))
    if query.since:
        where.append(entry.created_at >= datetime.combine(query.since, time(), zone))
    if query.until:
        where.append(entry.created_at < datetime.combine(query.until + timedelta(days=1),
                                                         time(), zone))
    if db.engine.dialect.name == "postgresql":
        tsquery = func.websearch_to_tsquery(literal_column(f"'{CONFIG}'::regconfig"), match)
        found = (select(entry.id, entry.source, entry.source_id, entry.created_at,
                        entry.document)
                 .where(entry.document.op("@@")(tsquery), *where)
                 .order_by(entry.created_at.desc(), entry.id.desc()).limit(max_hits)
                 .subquery("newest"))
        rank = cast(func.ts_rank_cd(found.c.document, tsquery), Float)
        stmt = select(found.c.id.label("entry_id"), found.c.source, found.c.source_id,
                      found.c.created_at, _has_body(found.c.source), rank.label("rank"))
        return stmt.cte("hits")
    # FTS5 ranks only the rows its MATCH cursor visits: the newest `max_hits` matches are
    # those from a rowid on (entries are written in time order, services.reindex too), found
    # by walking the index backwards, which FTS5 does without ranking anything.
    fts = table(FTS_TABLE, column("rowid"))
    matches = literal_column(FTS_TABLE).op("MATCH")(match)
    oldest = (select(fts.c.rowid).select_from(fts).join(entry, entry.id == fts.c.rowid)
              .where(matches, *where).order_by(fts.c.rowid.desc())
              .limit(1).offset(max_hits - 1).scalar_subquery())
    rank = -func.bm25(literal_column(FTS_TABLE), TITLE_WEIGHT, 1.0)
    stmt = (select(entry.id.label("entry_id"), entry.source, entry.source_id,
                   entry.created_at, _has_body(entry.source), rank.label("rank"))
            .select_from(fts).join(entry, entry.id == fts.c.rowid)
            .where(matches, fts.c.rowid >= func.coalesce(oldest, 0), *where))
    return stmt.cte("hits")


def _has_body(source):
    """Snippets come from a post, an update or a message (titles are shown already)."""
    return cast(source.in_((POST, UPDATE, MESSAGE)), Boolean).label("has_body")


def _visible(hits, query: Query, viewer):
    """The hits the viewer may see, each with the result it belongs to (kind, doc_id)."""
    def pick(kind, doc_id):
        kind = literal(kind, String) if isinstance(kind, str) else kind
        return select(hits.c.entry_id, kind.label("kind"),
                      doc_id.label("doc_id"), hits.c.rank, hits.c.created_at, hits.c.has_body)

    # The discussion thread Travaux opens for an incident declared on Travaux (its first post
    # is the official opening) says what the incident says: its hits count for the incident,
    # which is then found once, not twice (and not above the members' own reports). A
    # promoted report stays a report. Searching threads alone, or one board, keeps threads.
    fold = query.kind is None and not query.board
    discussed = aliased(Incident, name="discussed")
    opening = aliased(Post, name="opening")

    def thread_pick(stmt_for):
        if not fold:
            return stmt_for(pick(THREAD_KIND, Thread.id))
        is_discussion = and_(discussed.id.is_not(None), opening.id.is_not(None))
        stmt = stmt_for(pick(case((is_discussion, literal(INCIDENT_KIND, String)),
                                  else_=literal(THREAD_KIND, String)),
                             case((is_discussion, discussed.id), else_=Thread.id)))
        return (stmt.outerjoin(discussed, discussed.source_thread_id == Thread.id)
                .outerjoin(opening, and_(opening.id == Thread.first_post_id,
                                         opening.official.is_(True))))

    affecting = (select(incident_services.c.incident_id)
                 .join(Service, Service.id == incident_services.c.service_id)
                 .where(Service.slug == query.service))
    branches = []
    if query.kind in (None, THREAD_KIND):
        titles = visible_threads(thread_pick(lambda picked: picked.join(
            Thread, and_(hits.c.source == TITLE, Thread.id == hits.c.source_id))), viewer)
        posts = visible_posts(thread_pick(lambda picked: picked.join(
            Post, and_(hits.c.source == POST, Post.id == hits.c.source_id))
            .join(Thread, Thread.id == Post.thread_id)).join(Board, Board.id == Thread.board_id),
            viewer)
        for branch in (titles, posts):
            if query.board:
                branch = branch.where(Board.slug == query.board)
            if query.status:
                branch = branch.where(Thread.resolved_at.is_(None) if query.status == OPEN
                                      else Thread.resolved_at.is_not(None))
            if query.service:  # reports about it, or linked to an incident on it
                branch = branch.where(Thread.service_id.in_(
                    select(Service.id).where(Service.slug == query.service))
                    | Thread.incident_id.in_(affecting))
            branches.append(branch)
    if query.kind in (None, INCIDENT_KIND) and not query.board:
        titles = pick(INCIDENT_KIND, Incident.id).join(
            Incident, and_(hits.c.source == INCIDENT, Incident.id == hits.c.source_id))
        updates = (pick(INCIDENT_KIND, IncidentUpdate.incident_id).join(
            IncidentUpdate, and_(hits.c.source == UPDATE, IncidentUpdate.id == hits.c.source_id))
            .join(Incident, Incident.id == IncidentUpdate.incident_id))
        for branch in (titles, updates):
            if query.status:
                closed = Incident.status.in_(CLOSED)
                branch = branch.where(~closed if query.status == OPEN else closed)
            if query.service:
                branch = branch.where(Incident.id.in_(affecting))
            branches.append(branch)
    if query.kind in (None, LIST_KIND) and not (query.board or query.status or query.service):
        branches.append(visible_list_messages(pick(LIST_KIND, ListMessage.id).join(
            ListMessage, and_(hits.c.source == MESSAGE, ListMessage.id == hits.c.source_id)),
            viewer))
    return union_all(*branches).cte("visible") if branches else None


def _age_in_days(moment, day: int):
    """Days from `moment` (a column) to the start of epoch day `day`, never below 0."""
    if db.engine.dialect.name == "postgresql":
        days = func.extract("epoch", moment) / 86400.0
    else:  # SQLite keeps the UTC wall time as text, which julianday() reads
        days = func.julianday(moment) - 2440587.5
    age = literal(float(day)) - days
    return case((age > 0, age), else_=literal(0.0))


def _page_statement(query: Query, match: str, viewer, per_page: int, max_hits: int,
                    day: int | None):
    """The page's results (kind, doc_id, score, last_at, best entry and its snippet), or
    None when the filters leave nothing to search (lists filtered by board, say). Freshness
    is counted at the start of epoch day `day`, the same on every page of one search; None
    leaves it out (results with some of the words: there, how many matched comes first)."""
    visible = _visible(_hits(query, match, max_hits), query, viewer)
    if visible is None:
        return None
    best_first = func.row_number().over(
        partition_by=(visible.c.kind, visible.c.doc_id),
        order_by=(visible.c.has_body.desc(), visible.c.rank.desc(), visible.c.entry_id))
    ranked = select(visible, best_first.label("n")).subquery("ranked")
    last_at = func.max(ranked.c.created_at)
    freshness = 1 if day is None else \
        1 + FRESHNESS * FRESH_DAYS / (FRESH_DAYS + _age_in_days(last_at, day))
    score = cast((func.max(ranked.c.rank) + SPREAD * func.sum(ranked.c.rank)) * freshness
                 * 1_000_000, BigInteger)
    key = score if query.sort == RELEVANCE else last_at
    docs = (select(ranked.c.kind, ranked.c.doc_id, score.label("score"),
                   last_at.label("last_at"),
                   func.max(case((ranked.c.n == 1, ranked.c.entry_id))).label("best"))
            .group_by(ranked.c.kind, ranked.c.doc_id))
    if query.after:
        docs = docs.having(tuple_(key, ranked.c.kind, ranked.c.doc_id)
                           < tuple_(*_read_cursor(query.after, query.sort)[:3]))
    docs = docs.order_by(key.desc(), ranked.c.kind.desc(), ranked.c.doc_id.desc())
    page = docs.limit(per_page + 1).subquery("page")
    snippet = SearchEntry.body
    if db.engine.dialect.name == "postgresql":
        snippet = func.ts_headline(
            literal_column(f"'{CONFIG}'::regconfig"), SearchEntry.body,
            func.websearch_to_tsquery(literal_column(f"'{CONFIG}'::regconfig"), match),
            HEADLINE)
    order = page.c.score if query.sort == RELEVANCE else page.c.last_at
    has_text = SearchEntry.source.in_((POST, UPDATE, MESSAGE)).label("has_text")
    return (select(page, SearchEntry.body, snippet.label("snippet"), has_text)
            .join(SearchEntry, SearchEntry.id == page.c.best)
            .order_by(order.desc(), page.c.kind.desc(), page.c.doc_id.desc()))


# Cursors --------------------------------------------------------------------------------------

def _cursor(row, sort: str, any_word: bool, day: int) -> str:
    key = row.score if sort == RELEVANCE else row.last_at.isoformat()
    raw = json.dumps([key, row.kind, row.doc_id, any_word, day],
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _today() -> int:
    return int(now().timestamp() // 86400)


def _read_cursor(cursor: str, sort: str) -> tuple:
    """(key, kind, id, any_word, day) from an `after=` cursor (day: the epoch day freshness
    is counted from, within a year of today). Raises SearchError on anything else, a cursor
    of before freshness included: its reader starts the search again."""
    try:
        key, kind, doc_id, any_word, day = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if kind not in KINDS or type(doc_id) is not int or type(any_word) is not bool \
                or type(day) is not int or abs(day - _today()) > 366:
            raise ValueError
        if sort == RELEVANCE:
            if type(key) is not int:
                raise ValueError
            return (literal(key, BigInteger), literal(kind, String), literal(doc_id),
                    any_word, day)
        moment = datetime.fromisoformat(key)
        if moment.tzinfo is None:
            raise ValueError
        return (literal(moment, UTCDateTime()), literal(kind, String), literal(doc_id),
                any_word, day)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        message = _l("This page of results no longer exists: start the search again.")
        raise SearchError(message) from None


# The search -----------------------------------------------------------------------------------

def search(query: Query, viewer, per_page: int = 20, max_hits: int = MAX_HITS) -> Page:
    """The page of results of `query` that `viewer` may see: those with all its words, or
    when there are none, those with some of them (`Page.some_words`). Raises SearchError."""
    groups = query_terms(query.text)
    any_word, day = _read_cursor(query.after, query.sort)[3:] if query.after \
        else (False, _today())
    match = _match(query, groups, any_word)
    statement = _page_statement(query, match, viewer, per_page, max_hits,
                                None if any_word else day)
    if statement is None:
        return Page([], None)
    rows = db.session.execute(statement).all()
    if not rows and not any_word and not query.after:
        any_word, match = True, _match(query, groups, True)
        rows = db.session.execute(_page_statement(query, match, viewer, per_page,
                                                  max_hits, None)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    wanted = {t for group in groups for w, t in group if w}
    postgres = db.engine.dialect.name == "postgresql"
    snippets = {(r.kind, r.doc_id): from_headline(r.snippet) if postgres
                else highlight(r.body, wanted) for r in rows if r.body and r.has_text}
    results = _results(rows, snippets, viewer)
    return Page(results, _cursor(rows[-1], query.sort, any_word, day) if more else None,
                any_word)


def _results(rows, snippets, viewer) -> list[Result]:
    """What the page shows of each result: one query per kind present on the page."""
    ids = {kind: [r.doc_id for r in rows if r.kind == kind] for kind in KINDS}
    made = {}
    if ids[THREAD_KIND]:
        for thread in db.session.scalars(select(Thread).options(joinedload(Thread.board))
                                         .where(Thread.id.in_(ids[THREAD_KIND]))):
            made[THREAD_KIND, thread.id] = Result(
                THREAD_KIND, thread.id, thread.title,
                url_for("forum.thread", thread_id=thread.id, slug=thread.slug), Markup(""),
                thread.board.name, _("Resolved") if thread.resolved_at else _("Open"),
                thread.resolved_at is not None, thread.created_at, thread.affected_count,
                solved=thread.solution_post_id is not None)
    if ids[INCIDENT_KIND]:
        affected = dict(db.session.execute(visible_threads(
            select(Thread.incident_id, func.sum(Thread.affected_count))
            .where(Thread.incident_id.in_(ids[INCIDENT_KIND])), viewer)
            .group_by(Thread.incident_id)).all())
        for incident in db.session.scalars(select(Incident)
                                           .where(Incident.id.in_(ids[INCIDENT_KIND]))):
            made[INCIDENT_KIND, incident.id] = Result(
                INCIDENT_KIND, incident.id, incident.title,
                url_for("travaux.incident", incident_id=incident.id), Markup(""),
                ", ".join(s.name for s in incident.services), status_label(incident.status),
                incident.is_closed, incident.created_at, int(affected.get(incident.id) or 0))
    if ids[LIST_KIND]:
        for message in db.session.scalars(select(ListMessage).options(
                joinedload(ListMessage.list)).where(ListMessage.id.in_(ids[LIST_KIND]))):
            made[LIST_KIND, message.id] = Result(
                LIST_KIND, message.id, message.subject,
                url_for("lists.message", slug=message.list.slug, message_id=message.id),
                Markup(""), message.list.name, "", False, message.sent_at or message.created_at,
                None)
    results = []
    for row in rows:
        result = made.get((row.kind, row.doc_id))
        if result is not None:
            result.snippet = snippets.get((row.kind, row.doc_id), Markup(""))
            results.append(result)
    return results


# The index ----------------------------------------------------------------------------------

def reindex(batch: int = 5000) -> int:
    """Rebuild the whole index from the indexed rows (after a bulk load, or to repair it).
    Entries are written oldest first across every source, as the site writes them, so that
    an entry's id follows time (SQLite's search finds the newest matches by it). Commits.
    Returns the number of entries."""
    connection = db.session.connection()
    connection.execute(SearchEntry.__table__.delete())
    count, pending = 0, []
    streams = [_entry_rows(model, names, batch) for model, (_s, names, _t) in SOURCES.items()]
    for row in heapq.merge(*streams, key=lambda row: row["created_at"]):
        pending.append(row)
        if len(pending) == batch:
            insert_entries(connection, pending)
            count, pending = count + len(pending), []
    insert_entries(connection, pending)
    db.session.commit()
    return count + len(pending)


def _entry_rows(model, names, batch: int):
    """The entries of one source, by id (the order its rows were written in), a batch read
    at a time and made before the next is read (an incident's services need the object,
    which the session then forgets)."""
    columns = [model] if model is Incident else [
        model.id, model.created_at, *(getattr(model, name) for name in names)]
    last = 0
    while True:
        rows = db.session.execute(select(*columns).where(model.id > last)
                                  .order_by(model.id).limit(batch)).all()
        if not rows:
            return
        objs = [row[0] for row in rows] if model is Incident else rows
        made = [entry_row(obj, model) for obj in objs]
        last = objs[-1].id
        if model is Incident:
            for obj in objs:
                db.session.expunge(obj)
        yield from made
