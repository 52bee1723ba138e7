"""The Flask extensions, created unbound and initialised by create_app()."""

import click
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, text

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
babel = Babel()


class _Migrations:
    """Flask-Migrate, loaded by a command line (`flask db upgrade`) or when `upgrade()` first
    needs it: it brings Alembic, 11 MB in every web worker, which never migrates."""

    def init_app(self, app, db, **options) -> None:
        if click.get_current_context(silent=True) is not None:  # `flask ...`: load it now
            from flask_migrate import Migrate

            Migrate(app, db, **options)
        else:
            app.extensions["migrate"] = _PendingMigrate(app, db, options)


class _PendingMigrate:
    """Stands in app.extensions["migrate"] until asked: then Flask-Migrate takes its place."""

    def __init__(self, app, db, options: dict) -> None:
        self._app, self._db, self._options = app, db, options

    def __getattr__(self, name: str):
        from flask_migrate import Migrate

        Migrate(self._app, self._db, **self._options)  # sets extensions["migrate"]
        return getattr(self._app.extensions["migrate"], name)


migrate = _Migrations()


def refresh_statistics(vacuum: bool = True) -> None:
    """ANALYZE after a bulk load (demo, bench), so that the planner knows the new sizes and
    picks the indexes; PostgreSQL's autovacuum would only get to it later. On PostgreSQL,
    VACUUM too unless told not to (outside any transaction): the rows a recount rewrote
    leave the indexes, and index-only scans can skip the table. Commits."""
    db.session.commit()
    if db.engine.dialect.name != "postgresql" or not vacuum:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
