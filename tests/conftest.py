"""Shared fixtures: one real database per run (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), built by the migrations and emptied before each test."""

import os
import re
import secrets
import tempfile
from contextlib import contextmanager

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

_INSTANCE = tempfile.mkdtemp(prefix="board-test-instance-")
os.environ["BOARD_INSTANCE_PATH"] = _INSTANCE
os.environ.setdefault("SECRET_KEY", "test-secret-" + secrets.token_hex(8))
for _name in ("DATABASE_URL", "SMTP_URL", "REDIS_URL", "BASE_URL", "TRAVAUX_EXPORT_DIR"):
    os.environ.pop(_name, None)

from board import create_app, pagecache, stampmemo  # noqa: E402
from board.extensions import db, limiter  # noqa: E402
from board.lists.services import ensure_lists  # noqa: E402

# The small site the feed tests of every domain read (the `site` fixture).
pytest_plugins = ["tests.feedsite"]

CSRF_RE = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')

TEST_CONFIG = {
    "TESTING": True,
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "BASE_URL": "http://board.test",
    "SERVER_NAME": None,
    # Guests' stamps read at every page, so that query counts are the same from one run to
    # the next on PostgreSQL; tests/test_stampmemo.py turns the memo on.
    "STAMP_MEMO": "off",
}


def _pg_url(raw: str):
    url = make_url(raw)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database for this run only: created here, dropped at the end."""
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "board.sqlite3")
        return
    server = _pg_url(raw)
    name = f"board_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def _app(database_url):
    from flask_migrate import upgrade

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = FormClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def empty_database():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    # DELETE beats TRUNCATE on tables this small (TRUNCATE rewrites files on PostgreSQL).
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def app(_app):
    """The application, on an empty database, with fresh rate limits, in an app context."""
    with _app.app_context():
        empty_database()
        ensure_lists()  # the rows the migrations create, emptied with the rest
        limiter.reset()
        if (cache := pagecache.store()) is not None:
            cache.clear()  # a new database counts its generations from 0 again
        stampmemo.moved(db.engine)  # the stamps guests read, before the database says so
        # The banners drawn so far: an entry near its end could expire between two requests
        # of a test that counts queries.
        _app.extensions["travaux_banners"].clear()
        _app.extensions["board_rows"].clear()
        yield _app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class FormClient(FlaskClient):
    """A test client that sends forms the way a browser does: with the page's CSRF token."""

    _csrf = None

    def open(self, *args, **kwargs):
        # The test's own session commits first, so the request sees what the test wrote;
        # the request runs in an app context of its own, so that `g` (the logged-in user,
        # the locale) and the database session are per request, as in production.
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self, refresh=False) -> str:
        if self._csrf is None or refresh:
            # A guest's home page has no form (so no session): the login page has one.
            match = CSRF_RE.search(self.get("/").data) or CSRF_RE.search(self.get("/login").data)
            assert match, "no CSRF token on the home page or the login page"
            self._csrf = match.group(1).decode()
        return self._csrf

    def form(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, email, password="correct horse battery", **kwargs):
        return self.form("/login", {"email": email, "password": password}, **kwargs)

    def logout(self):
        return self.form("/logout")


@contextmanager
def count_queries():
    """Count the SQL statements sent while the block runs: `with count_queries() as n: ...`."""
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


@pytest.fixture
def login_as(client):
    """Log the client in as a fresh user of a role: `user = login_as("moderator")`."""
    from tests.factories import make_user

    def login(role="member", **kwargs):
        user = make_user(role=role, **kwargs)
        response = client.login(user.email)
        assert response.status_code == 302, response.data[:500]
        return user

    return login
