"""Users: registration, login, email confirmation, password reset, API tokens."""


def init_app(app) -> None:
    """The account pages, `flask users ...`, and how a session finds its user."""
    from board.accounts import cli, services, views
    from board.extensions import login_manager

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users)
    login_manager.user_loader(services.load_user)
