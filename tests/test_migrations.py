"""The migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from board.extensions import db
from board.search.models import ENGINE_INDEXES, ENGINE_TABLES


def test_models_and_migrations_agree(app):
    # The session database was built by `flask db upgrade` (see conftest).
    with db.engine.connect() as conn:
        # SQLite's FTS5 tables for search are the database's own, beside search_entries.
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, kind, _parent: name not in ENGINE_TABLES | ENGINE_INDEXES})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_from_empty_on_a_fresh_database(tmp_path):
    from flask_migrate import downgrade, upgrade

    from board import create_app
    from tests.conftest import TEST_CONFIG

    url = "sqlite:///" + str(tmp_path / "fresh.sqlite3")
    fresh = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with fresh.app_context():
        upgrade()
        tables = set(db.inspect(db.engine).get_table_names())
        assert {"users", "boards", "threads", "posts", "outbox", "audit_log"} <= tables
        downgrade(revision="base")
        assert set(db.inspect(db.engine).get_table_names()) == {"alembic_version"}
        db.engine.dispose()
