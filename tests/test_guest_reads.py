"""A guest's GET reads in autocommit on PostgreSQL (board/pagecache.py, _guest_reads): no
BEGIN or ROLLBACK around its queries, while a member's request keeps its transaction, and a
guest's GET that writes gets one transaction from its first write, whole or nothing."""

import psycopg
import pytest
from sqlalchemy import func, select

from board import create_app
from board.extensions import db
from board.forum.models import Board
from board.pagecache import guest_cached
from tests.conftest import TEST_CONFIG
from tests.factories import make_board, make_thread, make_user


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("autocommit reads are PostgreSQL's (SQLite's transactions cost no trip)")


def commands(monkeypatch) -> list:
    """The commands psycopg sends outside queries (BEGIN, COMMIT, ROLLBACK), from now on."""
    sent = []
    original = psycopg.Connection._exec_command

    def counted(self, command, *args, **kwargs):
        sent.append(bytes(command) if not isinstance(command, str) else command.encode())
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "_exec_command", counted)
    return sent


def test_a_guest_page_is_read_without_a_transaction(postgresql, app, client, monkeypatch):
    monkeypatch.setitem(app.config, "GUEST_CACHE", "off")
    monkeypatch.delitem(app.extensions, "guest_cache", raising=False)
    thread = make_thread(board=make_board(), author=make_user(), title="Lenteurs du webmail")
    path = f"/threads/{thread.id}/{thread.slug}"
    db.session.remove()  # the test's own transaction ended: the request's is its own
    client.get(path)
    sent = commands(monkeypatch)
    page = client.get(path)
    assert page.status_code == 200 and "Lenteurs du webmail" in page.get_data(as_text=True)
    assert not any(c.startswith((b"BEGIN", b"ROLLBACK")) for c in sent), sent
    # A member's page keeps its transaction.
    client.login(make_user().email)
    db.session.remove()
    sent.clear()
    assert client.get(path).status_code == 200
    assert any(c.startswith(b"BEGIN") for c in sent), sent


@pytest.fixture
def writing_app(database_url, app):
    """An app with a guest page that writes two boards, then fails when asked to: no such
    page exists in the board, which is what makes it a guard."""
    if not database_url.startswith("postgresql"):
        pytest.skip("autocommit reads are PostgreSQL's")
    other = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                        "GUEST_CACHE": "off"})

    @other.get("/_write/<name>")
    @guest_cached(lambda **_args: ("a stamp",))  # a page the cache would keep
    def write(name):
        for n in (1, 2):
            db.session.add(Board(slug=f"{name}-{n}", name=f"{name} {n}"))
            db.session.flush()
        if name == "fails":
            raise RuntimeError("after two writes")
        db.session.commit()
        return "ok"

    other.config["PROPAGATE_EXCEPTIONS"] = False
    yield other
    with other.app_context():
        db.engine.dispose()


def test_a_guests_get_that_writes_is_one_transaction(writing_app):
    client = writing_app.test_client()
    assert client.get("/_write/kept").status_code == 200
    assert client.get("/_write/fails").status_code == 500
    with writing_app.app_context():
        slugs = set(db.session.scalars(select(Board.slug).where(
            Board.slug.like("kept-%") | Board.slug.like("fails-%"))))
        assert slugs == {"kept-1", "kept-2"}  # the failed request's first write is gone too
        assert db.session.scalar(select(func.count()).select_from(Board)) == 2
