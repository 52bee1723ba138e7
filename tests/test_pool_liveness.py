"""Pooled connections are pinged only after a quiet spell (board/__init__.py, _liveness): a
connection the server ended while it sat idle is replaced before any request sees it, and
connections taken again at once cost no ping."""

import time

import psycopg
import pytest
from sqlalchemy import event

from board.extensions import db
from tests.factories import make_board, make_user


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a server that ends connections by itself is PostgreSQL's")


def pings(engine) -> list:
    """The pings the dialect sends from now on (its do_ping), counted."""
    sent = []
    original = engine.dialect.do_ping

    def counted(dbapi_connection):
        sent.append(1)
        return original(dbapi_connection)

    engine.dialect.do_ping = counted
    return sent


def end_idle_connections() -> int:
    """Every idle connection to the database ended by the server, the pool's included: asked
    through a connection of its own, outside the pool."""
    args, kwargs = db.engine.dialect.create_connect_args(db.engine.url)
    with psycopg.connect(*args, **kwargs, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'idle'").fetchone()[0]


def test_a_connection_ended_while_idle_is_replaced_before_a_request_sees_it(
        postgresql, app, client, monkeypatch):
    monkeypatch.setitem(app.config, "POOL_PING_IDLE", 0.2)
    make_board(name="Hébergement")
    client.login(make_user().email)  # a member: the page is drawn, with the pool's connection
    assert client.get("/").status_code == 200
    db.session.remove()
    assert end_idle_connections() >= 1
    time.sleep(0.3)
    sent = pings(db.engine)
    try:
        page = client.get("/")
    finally:
        del db.engine.dialect.do_ping
    assert page.status_code == 200 and "Hébergement" in page.get_data(as_text=True)
    assert sent  # the idle connection was pinged, found dead, and replaced


def test_connections_taken_again_at_once_are_not_pinged(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "POOL_PING_IDLE", 60)
    make_board(name="Hébergement")
    client.login(make_user().email)
    client.get("/")
    sent = pings(db.engine)
    checkouts = []

    def taken(*_args):
        checkouts.append(1)

    event.listen(db.engine, "checkout", taken)
    try:
        for _ in range(5):
            assert client.get("/").status_code == 200
    finally:
        del db.engine.dialect.do_ping
        event.remove(db.engine, "checkout", taken)
    assert len(checkouts) >= 5 and sent == []
