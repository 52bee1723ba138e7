"""The guest page cache: what a visitor who is not logged in reads, rendered once per change.

As Discourse does for logged-out readers, the whole answer to a guest's GET of a hot page
(thread, board, index, `/travaux/`, an incident, the feeds) is kept, keyed by the address,
the language and the page's *stamp*: the few values, read in one small query, that change
whenever what the page shows changes (a thread's `changed_at`, a board's, the generations
below). A write never has to find the entries it makes stale: it moves a stamp, and the next
reader's key is new. Entries also expire after GUEST_CACHE_SECONDS, so that relative dates
("il y a 5 minutes") stay close to the truth.

The same stamp gives every guest page an ETag and a Last-Modified, so a browser asking again
gets a 304, and `Cache-Control: public, max-age=GUEST_CACHE_MAX_AGE` lets a reverse proxy or
a CDN take the herd of an outage day. Logged-in answers are `private, no-cache`: never kept.

Generations count the changes that many pages show: "site" (a board renamed or hidden, a
member's name or role: the headers and listings of every page) and "travaux" (anything
Travaux shows, which the banner puts on every page). A domain names what moves them with
`on_change(Model, handler)`; the handler runs at each flush for each new, changed or deleted
row of that model, and may move a row's own `changed_at` or `bump(session, generation)`.

The store is this process's memory by default, Redis when REDIS_URL is set (shared by every
worker and host); GUEST_CACHE="off" turns the cache off (stamps, ETags and 304s remain).
"""

import hashlib
import logging
import os
import pickle
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl

from flask import abort, current_app, g, request, session
from flask_babel import get_locale
from sqlalchemy import String, event, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import is_resource_modified, parse_accept_header, parse_cookie, unquote_etag
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import get_host

from board import stampmemo
from board.clock import now
from board.extensions import db
from board.i18n import LANGUAGE_COOKIE, guest_locale
from board.types import UTCDateTime

log = logging.getLogger(__name__)

SITE = "site"
TRAVAUX = "travaux"


class SiteStamp(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """A generation: how many times what it names has changed, and when it last did."""

    __tablename__ = "site_stamps"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    generation: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def generations(*names: str) -> list:
    """Columns to add to a page's stamp query: for each generation named, its count and its
    time (a database restored from a backup counts from an older number again, at a newer
    time, so a restore never serves the entries of before)."""
    columns = []
    for name in names:
        row = select(SiteStamp).where(SiteStamp.name == name)
        columns += [row.with_only_columns(SiteStamp.generation).scalar_subquery(),
                    row.with_only_columns(SiteStamp.changed_at).scalar_subquery()]
    return columns


def read_stamp(stmt, **params) -> tuple:
    """A page's stamp: the one row of `stmt` (built once by its domain), read without the
    ORM's session on this thread's stamp connection; abort(404) when there is no row. Read
    before the page, it is never newer than what the page then shows."""
    engine, setting = db.engine, current_app.config["STAMP_MEMO"]
    memo = stampmemo.memo_for(engine, setting)
    key = (stmt, tuple(sorted(params.items())))
    if memo is not None:
        row = memo.read(key, lambda: _stamps.read(stmt, params))
    elif stampmemo.kept_on_sqlite(engine, setting):
        row = _stamps.read_kept(key, stmt, params)
    else:
        row = _stamps.read(stmt, params)
    if row is None:
        abort(404)
    return tuple(row)


class _StampConnection(threading.local):
    """Each thread's connection for stamps, kept open in autocommit: a stamp is one
    statement, so it needs no transaction, and a cache hit costs that statement alone, where
    a pooled checkout adds the pool's liveness ping and the transaction's end (on PostgreSQL,
    three more round trips). A connection found dead is replaced once, then the error is
    the caller's. Tied to its engine and process: a new app, or a forked worker, opens its
    own."""

    held: tuple | None = None
    # SQLite: guests' stamps read on this connection, while its data_version stays the same.
    kept: dict | None = None
    version: int | None = None

    def read(self, stmt, params):
        for attempt in (1, 2):
            connection = self._connection()
            try:
                return connection.execute(stmt, params).first()
            except DBAPIError as error:
                self.drop()
                if attempt == 2 or not error.connection_invalidated:
                    raise
        return None  # not reached: the second attempt returns or raises

    def read_kept(self, key, stmt, params):
        """`read`, kept until any other connection commits a change to the database file
        (SQLite's `PRAGMA data_version`, a few microseconds where the stamp's statement costs
        forty): this connection never writes, so every change is another's. The version is
        read before the stamp, so a row kept is never older than its version."""
        connection = self._connection()
        try:
            version = connection.connection.driver_connection.execute(
                "PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:  # a connection gone bad: `read` replaces it
            self.drop()
            return self.read(stmt, params)
        if version != self.version or self.kept is None \
                or len(self.kept) >= stampmemo.ENTRIES:
            self.kept, self.version = {}, version
        try:
            return self.kept[key]
        except KeyError:
            pass
        row = self.kept[key] = self.read(stmt, params)
        return row

    def _connection(self):
        engine, pid = db.engine, os.getpid()
        key = (engine, pid, _disposals.get(id(engine), 0))
        if self.held is not None and self.held[:3] == key:
            return self.held[3]
        self.drop()
        if not event.contains(engine, "engine_disposed", _disposed):
            event.listen(engine, "engine_disposed", _disposed)
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.held = (*key, connection)
        return connection

    def drop(self) -> None:
        """Let this thread's connection go (it is dead, or belongs to another engine)."""
        held, self.held = self.held, None
        self.kept = self.version = None
        if held is not None and held[1] == os.getpid():
            try:
                held[3].invalidate()  # closed for real, not handed back to a pool
                held[3].close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close
                log.debug("guest cache: stamp connection closed with an error", exc_info=True)


_stamps = _StampConnection()
# How many times each engine was disposed (a restore, a fork): every thread's stamp
# connection opened before is let go at its next use, as the pool's own are at once.
_disposals: dict[int, int] = {}


def _disposed(engine) -> None:
    _disposals[id(engine)] = _disposals.get(id(engine), 0) + 1
    stampmemo.forget(engine)
    # This thread's, at once, whichever engine it came from (another app on the same file,
    # in tests): a restore may be about to replace the file under it.
    _stamps.drop()


# Moving the stamps at each flush ----------------------------------------------------------

Handler = Callable[[Session, Any], None]
_handlers: dict[type, dict[str, Handler]] = {}


def on_change(model: type, handler: Handler) -> None:
    """Call `handler(session, row)` at each flush for each new, changed or deleted `model`
    row. Registered once per handler, whatever the number of apps."""
    _handlers.setdefault(model, {})[f"{handler.__module__}.{handler.__qualname__}"] = handler


def changed(row, *names: str) -> bool:
    """Whether this flush changes one of the attributes `names` of `row` (any when none is
    named; a new or deleted row always counts)."""
    state = inspect(row)
    if state.pending or state.deleted or not state.persistent:
        return True
    attrs = state.attrs
    return any(attrs[name].history.has_changes() for name in (names or attrs.keys()))


def bump(session: Session, name: str) -> None:
    """Move the generation `name` when this transaction commits."""
    session.info.setdefault("stamps_to_bump", set()).add(name)


def _forget(session: Session, *_args) -> None:
    session.info.pop("stamps_to_bump", None)
    session.info.pop("stamps_written", None)


def _written(session: Session, _context) -> None:
    session.info["stamps_written"] = True


def _executed(state) -> None:
    """An UPDATE, INSERT or DELETE run through the session, which no flush sees."""
    if state.is_update or state.is_delete or state.is_insert:
        _begin_writes(state.session)
        state.session.info["stamps_written"] = True


def _committed(session: Session) -> None:
    """A commit that wrote: the stamps this process kept for guests are dropped at once
    (board/stampmemo.py), before the database's notification comes back."""
    if session.info.pop("stamps_written", False):
        stampmemo.moved(db.engine)


def _before_flush(session: Session, _context, _instances) -> None:
    _begin_writes(session)
    if not _handlers:
        return
    dirty = session.dirty  # a set built anew at each access: once per flush, not per row
    changed_rows = [*session.new, *(r for r in dirty if session.is_modified(r)),
                    *session.deleted]
    with session.no_autoflush:
        for row in changed_rows:
            for handler in _handlers.get(type(row), {}).values():
                handler(session, row)


def _before_commit(session: Session) -> None:
    """Move the generations last, once per transaction: every other row it writes is locked
    by then, so two transactions never wait on each other through the generations' rows."""
    if session.info.get("stamps_to_bump"):
        session.flush()  # what is still pending may move a stamp too
    names = session.info.pop("stamps_to_bump", None)
    if not names:
        return
    connection = session.connection()
    # Imported here: an application on SQLite never loads the PostgreSQL dialect (2 MB).
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    moment = now()
    for name in sorted(names):  # one order for every transaction: no deadlock between two
        stmt = upsert(SiteStamp).values(name=name, generation=1, changed_at=moment)
        connection.execute(stmt.on_conflict_do_update(
            index_elements=[SiteStamp.name],
            set_={"generation": SiteStamp.generation + 1, "changed_at": moment}))


# Guests' reads without a transaction --------------------------------------------------------

GUEST_READS = "guest_reads_autocommit"


def _guest_reads() -> None:
    """On PostgreSQL, a guest's GET of a page the cache keeps (a view with a stamp: thread,
    board, index, Travaux, feeds) reads in autocommit: no BEGIN and no ROLLBACK around its
    queries, two round trips of a thread page's four. Under READ COMMITTED each statement
    reads its own snapshot anyway, so the page reads what it read in a transaction. Other
    pages keep theirs: what lasts a transaction (a SET LOCAL, as similar reports' threshold,
    a lock) would end with its statement. Should such a request write (none does), its
    transaction begins at its first write."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "guest_stamp", None) is None or not is_guest() \
            or db.session().in_transaction():
        return
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    db.session.info[GUEST_READS] = True


def _begin_writes(session: Session) -> None:
    """A write in a guest's autocommit reads: from here on, one transaction, which the
    session's commit or rollback ends as any other (psycopg sends them while one is open)."""
    if session.info.pop(GUEST_READS, False):
        session.connection().exec_driver_sql("BEGIN")


# The store ----------------------------------------------------------------------------------

class MemoryStore:
    """This process's entries, the least recently used dropped past `size`."""

    def __init__(self, size: int):
        self.size, self.lock = size, threading.Lock()
        self.entries: OrderedDict[str, tuple[float, object]] = OrderedDict()

    def get(self, key: str):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def set(self, key: str, value, seconds: int) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


class RedisStore:
    """Entries in Redis, shared by every worker; an unreachable Redis is a cache miss."""

    def __init__(self, url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix, self.errors = prefix, redis.RedisError
        self.warned = False

    def get(self, key: str):
        try:
            raw = self.client.get(self.prefix + key)
        except self.errors as error:
            self._warn(error)
            return None
        return pickle.loads(raw) if isinstance(raw, bytes) else None

    def set(self, key: str, value, seconds: int) -> None:
        try:
            self.client.set(self.prefix + key, pickle.dumps(value), ex=seconds)
        except self.errors as error:
            self._warn(error)

    def clear(self) -> None:
        try:
            for key in self.client.scan_iter(self.prefix + "*"):
                self.client.delete(key)
        except self.errors as error:
            self._warn(error)

    def _warn(self, error) -> None:
        if not self.warned:
            log.warning("guest cache: Redis unreachable (%s); pages are rendered uncached", error)
            self.warned = True


def store():
    """The app's store, or None when the cache is off."""
    return current_app.extensions.get("guest_cache")


# Serving --------------------------------------------------------------------------------

# What the WSGI layer below found for this request, for the view: {"key", "stamp", "keep"}.
ENVIRON = "board.pagecache"


def own_cookies(config) -> tuple[str, str]:
    """Our session's cookie and Flask-Login's "remember me": without them, a reader is a
    guest with nothing of their own (the language cookie aside)."""
    return config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME", "remember_token")


def is_guest() -> bool:
    """Whether this request comes from a reader who is not logged in and has nothing of their
    own to see (a flashed message): the only answers a cache may share."""
    if request.method not in ("GET", "HEAD"):
        return False
    session_cookie, remember_cookie = own_cookies(current_app.config)
    if remember_cookie in request.cookies:
        return False
    if session_cookie not in request.cookies:
        return True
    return "_user_id" not in session and "_flashes" not in session


def _last_modified(stamp: tuple) -> datetime | None:
    moments = [value for value in stamp if isinstance(value, datetime)]
    return max(moments).replace(microsecond=0) if moments else None


def page_key(host_url: str, path: str, args: list, locale: str, stamp: tuple) -> str:
    material = repr((host_url, path, sorted(args), locale, stamp))
    return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()


def _guest_headers(response, key: str, stamp: tuple) -> None:
    if response.status_code == 200 and not response.headers.get("ETag"):
        response.set_etag(key, weak=True)
    if response.status_code == 200 and not response.last_modified:
        response.last_modified = _last_modified(stamp)
    if response.status_code == 200 and "Cache-Control" not in response.headers:
        response.cache_control.public = True
        response.cache_control.max_age = current_app.config["GUEST_CACHE_MAX_AGE"]
    response.vary.update(("Cookie", "Accept-Language"))
    # Whether a guest's answer came from the cache: for operators, and the tests.
    response.headers["X-Cache"] = "miss"


def _storable(response) -> bool:
    return (response.status_code == 200 and not session.modified
            and "Set-Cookie" not in response.headers and not response.is_streamed)


def guest_cached(stamp_of: Callable[..., tuple]):
    """Serve the decorated GET view to guests from the cache, keyed by `stamp_of(**view_args)`
    (one small query; it may abort(404)). Its answer gets an ETag (unless the view sets its
    own), a Last-Modified and a public Cache-Control; a matching If-None-Match or
    If-Modified-Since gets a 304. Other readers get the view itself, marked private.

    A guest without cookies is answered from the cache before Flask (GuestPages, below): the
    view then only renders what was missing. A guest with a session of their own (a form
    seen, say) is answered here."""

    def decorate(view):
        @wraps(view)
        def cached(**kwargs):
            if g.get("static_export"):
                return view(**kwargs)  # the independent site's pages: rendered apart, not kept
            if not is_guest():
                response = current_app.make_response(view(**kwargs))
                response.cache_control.private = True
                response.cache_control.no_cache = True
                response.vary.add("Cookie")
                return response
            if (found := request.environ.get(ENVIRON)) is not None:
                response = current_app.make_response(view(**kwargs))
                _guest_headers(response, found["key"], found["stamp"])
                found["keep"] = _storable(response)  # GuestPages keeps it, with every header
                return response.make_conditional(request) if response.status_code == 200 \
                    else response
            with stampmemo.for_a_guest():
                stamp = stamp_of(**kwargs)
            key = page_key(request.host_url, request.path, list(request.args.items(multi=True)),
                           str(get_locale()), stamp)
            cache = store()
            entry = cache.get("f:" + key) if cache is not None else None
            if entry is not None:
                status, headers, body = entry
                response = current_app.response_class(body, status=status, headers=headers)
                response.headers["X-Cache"] = "hit"
            else:
                response = current_app.make_response(view(**kwargs))
                _guest_headers(response, key, stamp)
                if cache is not None and _storable(response):
                    cache.set("f:" + key, (200, list(response.headers.items()),
                                           response.get_data()),
                              current_app.config["GUEST_CACHE_SECONDS"])
            return response.make_conditional(request) if response.status_code == 200 \
                else response

        cached.guest_stamp = stamp_of  # type: ignore[attr-defined]  # read by GuestPages
        return cached

    return decorate


class GuestPages:
    """The guest cache in front of Flask, as Discourse's is in front of Rails: a GET from a
    reader with no cookie of ours (a language cookie aside), to a page that has a stamp, is
    answered from the store, whole (headers included), with the stamp's one query and none
    of the request machinery (session, login, rate limits, locale, rendering). On a miss the
    request goes through Flask, and what the view says may be kept is kept here.
    Anything unexpected (the database down, a stamp's 404) lets Flask answer, as always."""

    ROUTES = 4096  # addresses whose match is kept; past this, the memo starts again

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self.own_cookies = own_cookies(app.config)
        # What the URL map answered for an address (it does not change once serving):
        # (endpoint, arguments), or None for no page.
        self.routes: dict[tuple, tuple[str, dict] | None] = {}

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD") or self.app.extensions.get("guest_cache") is None:
            return self.wsgi_app(environ, start_response)
        cookies = parse_cookie(environ)
        if any(name in cookies for name in self.own_cookies):
            return self.wsgi_app(environ, start_response)
        try:
            found = self._find(environ, cookies)
        except Exception:  # the view's own answer says what went wrong, in the usual way
            log.debug("guest cache: no stamp for %s", environ.get("PATH_INFO"), exc_info=True)
            found = None
        if found is None:
            return self.wsgi_app(environ, start_response)
        key, stamp, entry = found
        if entry is not None:
            return self._serve(environ, start_response, entry)
        environ[ENVIRON] = info = {"key": key, "stamp": stamp, "keep": False}
        # Flask renders the whole page even for a conditional request, so that the entry is
        # kept: a worker that only ever got "If-None-Match" (a feed reader, a proxy
        # revalidating) would otherwise render every time. The 304 is decided below.
        conditions = {name: environ.pop(name) for name in CONDITIONS if name in environ}
        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        chunks = self.wsgi_app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        environ.update(conditions)
        status, headers = answer["status"], answer["headers"]
        if not status.startswith("200") or any(
                name.lower() == "set-cookie" for name, _ in headers):
            start_response(status, headers)
            return [body]
        kept = [(name, value) for name, value in headers if name != "X-Cache"]
        if info["keep"] and method == "GET":
            with self.app.app_context():
                self.app.extensions["guest_cache"].set(
                    "w:" + key, (status, kept, body), self.app.config["GUEST_CACHE_SECONDS"])
        return self._serve(environ, start_response, (status, kept, body), "miss")

    def _route(self, environ) -> tuple[str, dict] | None:
        address = (environ["wsgi.url_scheme"], environ.get("HTTP_HOST"),
                   environ.get("SERVER_NAME"), environ.get("SCRIPT_NAME", ""),
                   environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"])
        try:
            return self.routes[address]
        except KeyError:
            pass
        try:
            found = self.app.url_map.bind_to_environ(environ).match()
        except HTTPException:  # no page, or a redirect: Flask answers
            found = None
        if len(self.routes) >= self.ROUTES:
            self.routes = {}
        self.routes[address] = found
        return found

    def _find(self, environ, cookies):
        route = self._route(environ)
        if route is None:
            return None
        endpoint, args = route
        stamp_of = getattr(self.app.view_functions.get(endpoint), "guest_stamp", None)
        if stamp_of is None:
            return None
        with self.app.app_context(), stampmemo.for_a_guest():
            stamp = stamp_of(**args)
            locale = guest_locale(cookies.get(LANGUAGE_COOKIE),
                                  parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"),
                                                      LanguageAccept))
            host_url = f"{environ['wsgi.url_scheme']}://{get_host(environ)}/"
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            key = page_key(host_url, path, parse_qsl(environ.get("QUERY_STRING", ""),
                                                     keep_blank_values=True), locale, stamp)
            return key, stamp, self.app.extensions["guest_cache"].get("w:" + key)

    @staticmethod
    def _serve(environ, start_response, entry, source: str = "hit"):
        status, headers, body = entry
        if any(name in environ for name in CONDITIONS) and _not_modified(environ, headers):
            kept = [(n, v) for n, v in headers if n in NOT_MODIFIED_HEADERS]
            start_response("304 NOT MODIFIED", [*kept, ("X-Cache", source)])
            return []
        start_response(status, [*headers, ("X-Cache", source)])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


# A request's conditions, as WSGI names them: what may turn a 200 into a 304.
CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")

# What a 304 repeats of the answer it stands for (RFC 9110, 15.4.5).
NOT_MODIFIED_HEADERS = ("ETag", "Last-Modified", "Cache-Control", "Vary", "Expires",
                        "Content-Location")


def _not_modified(environ, headers) -> bool:
    found = dict(headers)
    etag = unquote_etag(found["ETag"])[0] if "ETag" in found else None
    return not is_resource_modified(environ, etag=etag,
                                    last_modified=found.get("Last-Modified"))


def init_app(app) -> None:
    """The store named by the settings, and the listeners that move the stamps."""
    choice = app.config["GUEST_CACHE"]
    if choice == "redis" or (choice == "auto" and app.config["REDIS_URL"]):
        app.extensions["guest_cache"] = RedisStore(app.config["REDIS_URL"],
                                                   app.config["GUEST_CACHE_PREFIX"])
    elif choice in ("memory", "auto"):
        app.extensions["guest_cache"] = MemoryStore(app.config["GUEST_CACHE_ENTRIES"])
    wrapped = app.wsgi_app
    # Inside ProxyFix, when there is one: the key sees the host and scheme the visitor used.
    inner = wrapped.app if isinstance(wrapped, ProxyFix) else wrapped
    pages = GuestPages(app, inner)
    if isinstance(wrapped, ProxyFix):
        wrapped.app = pages
    else:
        app.wsgi_app = pages
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        app.before_request(_guest_reads)
    if not event.contains(db.session, "before_flush", _before_flush):
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "before_commit", _before_commit)
        event.listen(db.session, "after_rollback", _forget)
        event.listen(db.session, "after_flush", _written)
        event.listen(db.session, "do_orm_execute", _executed)
        event.listen(db.session, "after_commit", _committed)

