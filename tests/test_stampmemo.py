"""Guests' stamps kept between two changes on PostgreSQL (board/stampmemo.py): a cached guest
page costs no query while the database's listener is heard, a write from anywhere (another
connection, as another worker or psql would) shows to the next guest, and a listener cut,
loudly or silently, costs reads, never freshness."""

import socket
import threading
import time

import psycopg
import pytest
from sqlalchemy import select, text

from board import stampmemo
from board.extensions import db
from board.forum.models import Thread
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user

pytestmark = pytest.mark.usefixtures("memo_on")


@pytest.fixture
def memo_on(app, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the stamp memo is PostgreSQL's (LISTEN/NOTIFY); SQLite reads in-process")
    monkeypatch.setitem(app.config, "STAMP_MEMO", "auto")


def memo():
    with stampmemo.for_a_guest():
        return stampmemo.memo_for(db.engine, "auto")


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def raw_connection():
    """A connection of its own, as another worker, the CLI or psql would write through."""
    args, kwargs = db.engine.dialect.create_connect_args(db.engine.url)
    return psycopg.connect(*args, **kwargs, autocommit=True)


@pytest.fixture
def thread():
    thread = make_thread(board=make_board(), author=make_user(), title="Lenteurs du webmail")
    return thread


def path_of(thread) -> str:
    return f"/threads/{thread.id}/{thread.slug}"


def warmed(client, path) -> None:
    """The page in the cache and its stamp in the memo, with the listener heard."""
    assert wait_for(memo().alive), "the stamp listener never answered"
    client.get(path)
    client.get(path)


def assert_free_for_guests_alone(client, path) -> None:
    """A guest's hit of `path` sends no statement; a member's page reads its stamps afresh
    (the memo is a guest's alone)."""
    with count_queries() as statements:
        again = client.get(path)
    assert again.status_code == 200 and again.headers["X-Cache"] == "hit"
    assert statements == []
    client.login(make_user().email)
    with count_queries() as statements:
        assert client.get(path).status_code == 200
    assert statements


def test_a_cached_guest_page_costs_no_query_while_the_listener_is_heard(client, thread):
    path = path_of(thread)
    warmed(client, path)
    assert_free_for_guests_alone(client, path)


def test_a_write_through_another_connection_shows_to_the_next_guest(client, thread):
    path = path_of(thread)
    warmed(client, path)
    with raw_connection() as other:
        other.execute("UPDATE threads SET title = 'Webmail en panne', changed_at = now() "
                      "WHERE id = %s", (thread.id,))
    # The notification comes back within milliseconds; the first guest after it sees it.
    assert wait_for(lambda: "Webmail en panne" in client.get(path).get_data(as_text=True),
                    seconds=1.0)


def test_a_write_of_this_process_shows_at_once(client, thread):
    path = path_of(thread)
    warmed(client, path)
    db.session.get(Thread, thread.id).title = "Webmail rétabli"
    db.session.commit()  # no waiting for the notification: the commit drops the memo itself
    assert "Webmail rétabli" in client.get(path).get_data(as_text=True)


def test_a_listener_killed_by_the_server_costs_reads_then_comes_back(client, thread):
    path = path_of(thread)
    warmed(client, path)
    kept = memo()
    with raw_connection() as other:
        killed = other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name "
            "= %s AND datname = current_database()", (stampmemo.APPLICATION_NAME,)).fetchall()
        assert killed == [(True,)]
        assert wait_for(lambda: not kept.alive(), seconds=2.0)
        # Nobody listens: this write's notification is lost, the next guest reads anyway.
        other.execute("UPDATE threads SET title = 'Pendant la coupure', changed_at = now() "
                      "WHERE id = %s", (thread.id,))
    with count_queries() as statements:
        assert "Pendant la coupure" in client.get(path).get_data(as_text=True)
    assert statements
    # The listener connects again by itself, and the memo serves again.
    assert wait_for(kept.alive), "the stamp listener did not reconnect"
    client.get(path)
    with count_queries() as statements:
        assert "Pendant la coupure" in client.get(path).get_data(as_text=True)
    assert statements == []


class MutedProxy:
    """A TCP forwarder to PostgreSQL that can go silent: bytes stop flowing both ways, and no
    connection is closed, as on a network that drops packets."""

    def __init__(self, port: int):
        self.target, self.flowing = port, threading.Event()
        self.flowing.set()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass

    def close(self):
        self.flowing.set()
        self.server.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def test_a_listener_cut_silently_stops_being_trusted_within_its_bound(app):
    args, kwargs = db.engine.dialect.create_connect_args(db.engine.url)
    proxy = MutedProxy(int(kwargs.get("port") or 5432))
    listener = stampmemo.StampMemo(tuple(args), {**kwargs, "host": "127.0.0.1",
                                                 "port": proxy.port})
    statement = select(text("1"))
    reads = []

    def query():
        reads.append(1)
        return db.session.execute(statement).first()

    try:
        assert wait_for(listener.alive)
        listener.read("k", query)
        listener.read("k", query)
        assert len(reads) == 1  # kept
        proxy.flowing.clear()  # the network goes quiet: no error, no notification
        muted = time.monotonic()
        assert wait_for(lambda: not listener.alive(), seconds=stampmemo.ALIVE + 1)
        assert time.monotonic() - muted <= stampmemo.ALIVE + stampmemo.PING + 0.5
        listener.read("k", query)
        listener.read("k", query)
        assert len(reads) == 3  # read afresh every time, nothing kept
    finally:
        listener.stop()
        proxy.close()
