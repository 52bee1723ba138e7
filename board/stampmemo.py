"""Guests' page stamps kept in this process between two changes (PostgreSQL; SQLite's below).

A guest page served from the cache (board/pagecache.py) still reads its stamp, one small
query: on SQLite a call into the same process, on PostgreSQL a round trip that costs a cache
hit half its time (330 against 150 µs in-process). Here the stamps a guest read are kept,
and all of them are dropped whenever anything they are made of may have changed:

- every write to a table a stamp reads (boards, threads, incidents, site_stamps) sends a
  notification on the channel CHANNEL, from a trigger of the database itself (migration
  0032): whoever writes (a worker, the CLI, psql), the notification follows the commit;
- a thread of this process LISTENs on its own connection and drops the memo at each one;
- a commit of this process that wrote anything drops it at once too, so that the page a
  writer's own next request asks for is never older than their write (the notification
  follows by a few milliseconds);
- the listener pings the server every PING seconds; a memo is used only while its listener
  was last heard less than ALIVE seconds ago, and dropped whenever the listener reconnects.
  A listener cut without a word (a network that drops packets) therefore lets a guest see a
  page at most ALIVE seconds older than a write, less than the public max-age a proxy may
  already keep a page for; a lost connection, at once (every read goes to the database again
  until a new listener is heard).

Members never read the memo: their stamps (the banner's) are always read afresh. STAMP_MEMO
"off" turns it off. On SQLite there is no notification to wait for: the stamp connection
keeps what it read while the file's `PRAGMA data_version` stays the same, which a commit of
any other connection moves (board/pagecache.py, `read_kept`).
"""

import logging
import os
import threading
import time
from contextlib import contextmanager

log = logging.getLogger(__name__)

CHANNEL = "board_stamps"
APPLICATION_NAME = "board stamps"
PING = 0.5  # seconds between two pings of the listener's connection
ALIVE = 1.5  # a memo is read only while its listener was heard this recently
ENTRIES = 10_000  # past this, the memo starts again from empty

_reading = threading.local()  # .guest: this thread reads a guest's stamp


@contextmanager
def for_a_guest():
    """Stamps read inside may come from the memo: the reader is a guest."""
    before = getattr(_reading, "guest", False)
    _reading.guest = True
    try:
        yield
    finally:
        _reading.guest = before


class StampMemo:
    """Rows of stamp statements, by statement and parameters, and the thread that drops them
    when the database says something changed."""

    def __init__(self, connect_args: tuple, connect_kwargs: dict) -> None:
        self.connect_args, self.connect_kwargs = connect_args, connect_kwargs
        self.rows: dict = {}
        self.epoch = 0  # moves at each drop: a row read before one is never kept after it
        self.heard: float | None = None  # when the last ping was sent that was answered
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._listen, name="stamp listener",
                                       daemon=True)
        self.thread.start()

    def alive(self) -> bool:
        heard = self.heard
        return heard is not None and time.monotonic() - heard < ALIVE

    def read(self, key, query):
        """The row for `key`, kept or read with `query()`."""
        if not self.alive():
            return query()
        try:
            return self.rows[key]
        except KeyError:
            pass
        epoch = self.epoch
        row = query()
        with self.lock:
            if epoch == self.epoch and self.alive():
                if len(self.rows) >= ENTRIES:
                    self.rows = {}
                self.rows[key] = row
        return row

    def moved(self) -> None:
        """Something a stamp reads may have changed: nothing kept is read again."""
        with self.lock:
            self.epoch += 1
            self.rows = {}

    def stop(self) -> None:
        self.stopping.set()
        self.heard = None
        self.moved()

    # The listener --------------------------------------------------------------------------

    def _listen(self) -> None:
        pause = 0.1
        while not self.stopping.is_set():
            try:
                self._listen_once()
                pause = 0.1
            except Exception:  # noqa: BLE001 - the listener outlives any failure
                log.warning("stamp listener: connection lost, reconnecting", exc_info=True)
            finally:
                self.heard = None  # nothing is read from the memo, nor kept, until heard
            self.stopping.wait(pause)
            pause = min(pause * 2, 5.0)

    def _listen_once(self) -> None:
        import psycopg  # only here: a PostgreSQL application has it already

        with psycopg.connect(
                *self.connect_args, **{**self.connect_kwargs, "autocommit": True,
                                       "application_name": APPLICATION_NAME,
                                       "connect_timeout": 5,
                                       # A silent cut ends a ping in seconds, not hours.
                                       "keepalives": 1, "keepalives_idle": 5,
                                       "keepalives_interval": 2, "keepalives_count": 2,
                                       "tcp_user_timeout": 5000}) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.moved()  # what was kept before: anything may have changed since
            while not self.stopping.is_set():
                sent = time.monotonic()
                connection.execute("SELECT 1")
                # What arrived before the answer: every change committed before `sent`.
                for _notice in connection.notifies(timeout=0):
                    self.moved()
                self.heard = sent
                for _notice in connection.notifies(timeout=PING):
                    self.moved()


# One memo per engine, per process -----------------------------------------------------------

_memos: dict[int, tuple[int, object, StampMemo]] = {}
_memos_lock = threading.Lock()


def memo_for(engine, setting: str) -> StampMemo | None:
    """The memo of `engine` in this process (started at its first use), or None when
    stamps are read afresh: not a guest's, SQLite, or STAMP_MEMO "off"."""
    if not getattr(_reading, "guest", False) or setting == "off" \
            or engine.dialect.name != "postgresql":
        return None
    pid = os.getpid()
    found = _memos.get(id(engine))
    if found is not None and found[0] == pid and found[1] is engine:
        return found[2]
    with _memos_lock:
        found = _memos.get(id(engine))
        if found is not None and found[0] == pid and found[1] is engine:
            return found[2]
        if found is not None and found[0] == pid:
            found[2].stop()  # another engine at the same address: a disposed one's
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        memo = StampMemo(tuple(args), dict(kwargs))
        _memos[id(engine)] = (pid, engine, memo)
        return memo


def kept_on_sqlite(engine, setting: str) -> bool:
    """Whether a guest's stamps are kept on SQLite, by the stamp connection itself
    (board/pagecache.py), while the database's `PRAGMA data_version` does not move."""
    return getattr(_reading, "guest", False) and setting != "off" \
        and engine.dialect.name == "sqlite"


def moved(engine) -> None:
    """This process changed what stamps read: its memo for `engine` is dropped at once."""
    found = _memos.get(id(engine))
    if found is not None and found[0] == os.getpid():
        found[2].moved()


def forget(engine) -> None:
    """`engine` is disposed: its listener stops (a new one starts at the next guest read)."""
    with _memos_lock:
        found = _memos.pop(id(engine), None)
    if found is not None and found[0] == os.getpid():
        found[2].stop()
