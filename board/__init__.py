"""The community board and Travaux status platform."""

import os
import time
from pathlib import Path

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from board import (
    accounts,
    bench,
    config,
    demo,
    errors,
    forum,
    i18n,
    inputs,
    lists,
    ops,
    outbox,
    pagecache,
    search,
    security,
    travaux,
    visibility,
)
from board.extensions import babel, csrf, db, limiter, login_manager, migrate
from board.types import use_postgresql_options

ROOT = Path(__file__).resolve().parent.parent


class BoundedInt(IntegerConverter):
    """Ids in URLs fit a database integer: a longer number is a 404, not an overflow."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, then each domain, in the order they
    build on one another (DESIGN.md, "Where things live")."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("BOARD_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config.load(app.instance_path))
    if test_config:
        app.config.update(test_config)
    _extensions(app)

    pagecache.init_app(app)   # guests' pages, kept until what they show changes
    outbox.init_app(app)      # the outbox and `flask worker`
    lists.init_app(app)       # mailing lists
    accounts.init_app(app)    # users, sessions, tokens
    forum.init_app(app)       # boards, threads, posts
    travaux.init_app(app)     # status, incidents, the API, the static site
    search.init_app(app)      # full-text search over the forum, Travaux and the lists
    demo.init_app(app)        # `flask demo`
    bench.init_app(app)       # `flask bench seed`
    ops.init_app(app)         # backup, restore, doctor: above every domain

    visibility.init_app(app)  # who sees what, for templates; the one GUEST
    i18n.init_app(app)        # languages, dates, the language switch
    security.init_app(app)    # response headers
    inputs.init_app(app)      # NUL bytes, absurd page numbers, deep JSON: a clean 4xx
    errors.init_app(app)      # error pages
    return app


def _extensions(app: Flask) -> None:
    """Proxies, URL converters, the database and the Flask extensions."""
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["int"] = BoundedInt
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        use_postgresql_options()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)

    @app.context_processor
    def _page_modes():
        # Export and database-down pages are drawn without the account menu or any form.
        return {"static_export": g.get("static_export"), "database_down": g.get("database_down")}

    _sqlite_pragmas(app)
    _liveness(app)


def _liveness(app: Flask) -> None:
    """A pooled connection is pinged when a request takes it only if it sat idle in the pool
    for POOL_PING_IDLE seconds or more: after a quiet spell (a night, a restart of the
    server meanwhile) no request gets a dead connection, and under load, when connections
    come back within milliseconds, none pays the ping's round trip (0.1 to 0.3 ms on this
    machine's PostgreSQL: a guest thread page made seven before, two now). A connection that dies
    under load fails the one request that holds it (the usual 503 page); SQLAlchemy then lets
    go of every connection opened before, and the next request opens a new one."""
    from sqlalchemy import event, exc

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        if record is not None:
            record.info["returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, _proxy):
        returned = record.info.get("returned")
        if returned is None or time.monotonic() - returned < app.config["POOL_PING_IDLE"]:
            return  # a new connection, or one that answered a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure: a connection to replace
            raise exc.DisconnectionError() from error


def _sqlite_pragmas(app: Flask) -> None:
    """SQLite runs in WAL mode with foreign keys enforced, on every connection, and reads
    the file through a memory map (128 MB, as Rails sets it): a search over a large
    index spent more time in read() calls than in SQLite itself."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():

        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA mmap_size=134217728")
            cursor.close()
