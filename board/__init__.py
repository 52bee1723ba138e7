"""The community board and Travaux status platform."""

import os
from pathlib import Path

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from board import config, errors, i18n, inputs, markup, security
from board.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


class BoundedInt(IntegerConverter):
    """Ids in URLs fit a database integer: a longer number is a 404, not an overflow."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, commands and error pages."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("BOARD_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config.load(app.instance_path))
    if test_config:
        app.config.update(test_config)

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["int"] = BoundedInt
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)

    from board.accounts import cli as accounts_cli
    from board.accounts import views as accounts_views
    from board.forum import feeds as forum_feeds  # noqa: F401 - registers its routes
    from board.forum import views as forum_views
    from board.lists import cli as lists_cli
    from board.lists import views as lists_views
    from board.outbox import cli as outbox_cli
    from board.travaux import api as travaux_api
    from board.travaux import cli as travaux_cli
    from board.travaux import feeds as travaux_feeds  # noqa: F401 - registers its routes
    from board.travaux import hooks as travaux_hooks
    from board.travaux import views as travaux_views

    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(forum_views.bp)
    app.register_blueprint(travaux_views.bp)
    app.register_blueprint(travaux_api.bp)
    app.register_blueprint(lists_views.bp)
    app.register_blueprint(i18n.bp)
    csrf.exempt(travaux_api.bp)
    accounts_cli.register(app)
    outbox_cli.register(app)
    travaux_cli.register(app)
    lists_cli.register(app)
    travaux_hooks.init_app(app)

    from board import demo

    demo.register(app)
    i18n.init_app(app)
    app.jinja_env.filters["excerpt"] = markup.excerpt

    @app.context_processor
    def _page_modes():
        # Export and database-down pages are drawn without the account menu or any form.
        return {"static_export": g.get("static_export"), "database_down": g.get("database_down")}
    security.init_app(app)
    inputs.init_app(app)
    errors.init_app(app)
    _sqlite_pragmas(app)
    return app


def _sqlite_pragmas(app: Flask) -> None:
    """SQLite runs in WAL mode with foreign keys enforced, on every connection."""
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
            cursor.close()
