"""Guests' stamps kept on SQLite (board/pagecache.py, `read_kept`): a cached guest page costs
no statement while the database file's `PRAGMA data_version` stays the same, and a write
from anywhere (this process's session, another connection as another worker or the sqlite3
shell would) shows to the very next guest: there is nothing to wait for."""

import sqlite3
from datetime import timedelta

import pytest

from board.clock import now
from board.extensions import db
from board.forum.models import Thread
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user
from tests.test_stampmemo import assert_free_for_guests_alone


@pytest.fixture
def thread(app, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's memo (data_version); PostgreSQL's is tests/test_stampmemo.py")
    monkeypatch.setitem(app.config, "STAMP_MEMO", "auto")
    return make_thread(board=make_board(), author=make_user(), title="Lenteurs du webmail")


def path_of(thread) -> str:
    return f"/threads/{thread.id}/{thread.slug}"


def other_connection() -> sqlite3.Connection:
    """A connection of its own to the same file, as another worker or the shell would open."""
    return sqlite3.connect(db.engine.url.database, isolation_level=None, timeout=10)


def test_a_cached_guest_page_costs_no_statement(client, thread):
    path = path_of(thread)
    client.get(path)
    assert client.get(path).headers["X-Cache"] == "hit"
    assert_free_for_guests_alone(client, path)


def test_off_reads_every_stamp(app, client, thread, monkeypatch):
    monkeypatch.setitem(app.config, "STAMP_MEMO", "off")
    path = path_of(thread)
    client.get(path)
    with count_queries() as statements:
        assert client.get(path).headers["X-Cache"] == "hit"
    assert len(statements) == 1


def test_a_write_through_another_connection_shows_to_the_next_guest(client, thread):
    path = path_of(thread)
    client.get(path)
    client.get(path)
    later = (now() + timedelta(seconds=5)).replace(tzinfo=None).isoformat(" ")
    with other_connection() as other:
        other.execute("UPDATE threads SET title = 'Webmail en panne', changed_at = ? "
                      "WHERE id = ?", (later, thread.id))
    other.close()
    page = client.get(path)
    assert page.headers["X-Cache"] == "miss"
    assert "Webmail en panne" in page.get_data(as_text=True)


def test_a_write_of_this_process_shows_at_once(client, thread):
    path = path_of(thread)
    client.get(path)
    first = client.get(path)
    db.session.get(Thread, thread.id).title = "Webmail rétabli"
    db.session.commit()
    page = client.get(path)
    assert "Webmail rétabli" in page.get_data(as_text=True)
    assert page.headers["ETag"] != first.headers["ETag"]


def test_a_reply_by_a_member_shows_to_the_next_guest(client, thread):
    path = path_of(thread)
    guest = client.application.test_client()
    guest.get(path)
    assert guest.get(path).headers["X-Cache"] == "hit"
    client.login(make_user().email)
    answer = client.form(f"/threads/{thread.id}/reply",
                         {"body": "Même souci chez nous depuis ce matin."})
    assert answer.status_code == 302
    page = guest.get(path)
    assert "Même souci chez nous" in page.get_data(as_text=True)
