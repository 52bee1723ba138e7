"""Users: registration, login, email confirmation, password reset, API tokens."""


def init_app(app) -> None:
    """The account pages, `flask users ...`, how a session finds its user, and the
    worker's half of a reset request."""
    from board.accounts import cli, services, views
    from board.extensions import login_manager
    from board.outbox.services import add_handler

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users)
    login_manager.user_loader(services.load_user)
    add_handler(app, "password_reset", services.send_password_reset, domain="accounts")
