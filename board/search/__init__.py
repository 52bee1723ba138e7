"""Full-text search over threads, incidents and list messages (it sits on top of the forum,
Travaux and the lists, which know nothing of it)."""


def init_app(app) -> None:
    """The search page and its OpenSearch description, `flask search reindex`, and the
    listener that keeps the index current with every write."""
    from board.search import cli, index, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.search)
    index.init_app(app)
