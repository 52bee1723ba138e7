"""Data migrations, tested on the data of their time: a fresh SQLite database migrated up to
an older revision, where the test writes the rows of that time, then migrates on."""

from contextlib import contextmanager

from flask_migrate import upgrade

from board import create_app
from board.extensions import db
from tests.conftest import TEST_CONFIG


@contextmanager
def database_at(tmp_path, revision: str):
    """An application on a new SQLite file at `revision`, inside its app context."""
    url = "sqlite:///" + str(tmp_path / "old.sqlite3")
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision=revision)
        try:
            yield app
        finally:
            db.engine.dispose()
