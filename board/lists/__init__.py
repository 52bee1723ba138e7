"""Mailing lists: subscriptions with double opt-in, moderated messages, inbound mail."""


def init_app(app) -> None:
    """The lists' pages, `flask lists ...`, and the fan-out of approved messages."""
    from board.lists import cli, services, views
    from board.outbox.services import add_handler

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.lists)
    add_handler(app, "list_fanout", services.fan_out, domain="lists")
