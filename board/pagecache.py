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
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from flask import current_app, g, request, session
from flask_babel import get_locale
from sqlalchemy import String, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from board.clock import now
from board.extensions import db
from board.types import UTCDateTime

log = logging.getLogger(__name__)

SITE = "site"
TRAVAUX = "travaux"


class SiteStamp(db.Model):
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


# Moving the stamps at each flush ----------------------------------------------------------

Handler = Callable[[Session, object], None]
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
    """Move the generation `name` when this flush is written."""
    session.info.setdefault("stamps_to_bump", set()).add(name)


def _before_flush(session: Session, _context, _instances) -> None:
    if not _handlers:
        return
    with session.no_autoflush:
        for row in [*session.new, *session.dirty, *session.deleted]:
            for handler in _handlers.get(type(row), {}).values():
                if row in session.dirty and not session.is_modified(row):
                    continue
                handler(session, row)


def _after_flush(session: Session, _context) -> None:
    names = session.info.pop("stamps_to_bump", None)
    if not names:
        return
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    moment = now()
    for name in sorted(names):  # one order for every transaction: no deadlock between two
        stmt = insert(SiteStamp).values(name=name, generation=1, changed_at=moment)
        connection.execute(stmt.on_conflict_do_update(
            index_elements=[SiteStamp.name],
            set_={"generation": SiteStamp.generation + 1, "changed_at": moment}))


# The store ----------------------------------------------------------------------------------

class MemoryStore:
    """This process's entries, the least recently used dropped past `size`."""

    def __init__(self, size: int):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

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
        return pickle.loads(raw) if raw else None

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

def is_guest() -> bool:
    """Whether this request comes from a reader who is not logged in and has nothing of their
    own to see (a flashed message): the only answers a cache may share."""
    if request.method not in ("GET", "HEAD"):
        return False
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return False
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return True
    return "_user_id" not in session and "_flashes" not in session


def _last_modified(stamp: tuple) -> datetime | None:
    moments = [value for value in stamp if isinstance(value, datetime)]
    return max(moments).replace(microsecond=0) if moments else None


def guest_cached(stamp_of: Callable[..., tuple]):
    """Serve the decorated GET view to guests from the cache, keyed by `stamp_of(**view_args)`
    (one small query; it may abort(404)). Its answer gets an ETag (unless the view sets its
    own), a Last-Modified and a public Cache-Control; a matching If-None-Match or
    If-Modified-Since gets a 304. Other readers get the view itself, marked private."""

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
            stamp = stamp_of(**kwargs)
            material = repr((request.host_url, request.path,
                             sorted(request.args.items(multi=True)), str(get_locale()), stamp))
            key = hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
            cache = store()
            entry = cache.get(key) if cache is not None else None
            if entry is not None:
                status, headers, body = entry
                response = current_app.response_class(body, status=status, headers=headers)
                response.headers["X-Cache"] = "hit"
            else:
                response = current_app.make_response(view(**kwargs))
                if response.status_code == 200 and not response.headers.get("ETag"):
                    response.set_etag(key, weak=True)
                if response.status_code == 200 and not response.last_modified:
                    response.last_modified = _last_modified(stamp)
                if response.status_code == 200 and "Cache-Control" not in response.headers:
                    response.cache_control.public = True
                    response.cache_control.max_age = current_app.config["GUEST_CACHE_MAX_AGE"]
                response.vary.update(("Cookie", "Accept-Language"))
                if (cache is not None and response.status_code == 200
                        and not session.modified and "Set-Cookie" not in response.headers
                        and not response.is_streamed):
                    cache.set(key, (200, list(response.headers.items()), response.get_data()),
                              current_app.config["GUEST_CACHE_SECONDS"])
                # Whether a guest's answer came from the cache: for operators, and the tests.
                response.headers["X-Cache"] = "miss"
            return response.make_conditional(request) if response.status_code == 200 \
                else response

        return cached

    return decorate


def init_app(app) -> None:
    """The store named by the settings, and the listeners that move the stamps."""
    choice = app.config["GUEST_CACHE"]
    if choice == "redis" or (choice == "auto" and app.config["REDIS_URL"]):
        app.extensions["guest_cache"] = RedisStore(app.config["REDIS_URL"],
                                                   app.config["GUEST_CACHE_PREFIX"])
    elif choice in ("memory", "auto"):
        app.extensions["guest_cache"] = MemoryStore(app.config["GUEST_CACHE_ENTRIES"])
    if not event.contains(db.session, "before_flush", _before_flush):
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "after_flush", _after_flush)
