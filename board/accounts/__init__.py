"""Users: registration, login, email confirmation, password reset, API tokens."""


def init_app(app) -> None:
    """The account pages, `flask users ...`, how a session finds its user, and the
    worker's half of a reset request; a member renamed, given a role or deleted changes
    every page that shows them (board/pagecache.py); each member's last visit."""
    from board import pagecache
    from board.accounts import cli, services, views
    from board.accounts.models import User
    from board.extensions import login_manager
    from board.outbox.services import add_handler

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users)
    login_manager.user_loader(services.load_user)
    add_handler(app, "password_reset", services.send_password_reset, domain="accounts")
    pagecache.on_change(User, _user_changed)
    app.before_request(_note_seen)


def _note_seen() -> None:
    """A logged-in member's last visit, for staff (at most one write per few minutes)."""
    from flask import request
    from flask_login import current_user

    from board.accounts.services import note_seen

    if request.endpoint != "static" and current_user.is_authenticated:
        note_seen(current_user)


def _user_changed(session, user) -> None:
    """A new member is shown nowhere yet; a rename, a role or a deletion is shown everywhere."""
    from sqlalchemy import inspect

    from board import pagecache

    if not inspect(user).pending and pagecache.changed(user, "name", "role"):
        pagecache.bump(session, pagecache.SITE)
