"""Boards, threads, posts, "affected too", watching, and their moderation."""


def init_app(app) -> None:
    """The forum's pages and feeds, members' profiles, flags and their queue, and the
    digest mail of watched threads."""
    from board.forum import (
        feeds,
        flag_views,
        members,
        notification_views,
        notifications,
        reading_views,
        rows,
        services,
        solution_views,
        solutions,
        stamps,
        views,
        writing,
    )
    from board.outbox.services import add_handler

    app.register_blueprint(views.bp)
    app.register_blueprint(feeds.bp)
    stamps.register()
    notifications.init_app(app)
    notification_views.init_app(app)
    app.register_blueprint(reading_views.bp)
    rows.init_app(app)
    app.register_blueprint(solution_views.bp)
    app.jinja_env.globals["can_mark_solution"] = solutions.can_mark_solution
    writing.init_app(app)
    members.init_app(app)
    flag_views.init_app(app)
    add_handler(app, "watch_digest", services.send_digest, domain="forum")
