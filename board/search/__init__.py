"""Full-text search over threads, incidents and list messages (it sits on top of the forum,
Travaux and the lists, which know nothing of it)."""


from flask import url_for


def init_app(app) -> None:
    """The search page and its OpenSearch description, `flask search reindex`, the listener
    that keeps the index current with every write, and the box of similar reports that the
    forum's new-thread form shows when it exists (the forum never imports search)."""
    from board.search import cli, index, views

    app.register_blueprint(views.bp)
    app.extensions["similar_reports"] = views.similar_box
    app.jinja_env.globals["similar_reports_url"] = lambda: url_for("search.similar_reports")
    app.cli.add_command(cli.search)
    index.init_app(app)
