"""Side effects that leave the database: written in the transaction, delivered by the worker.

The other domains hand the worker their outbox handlers and periodic tasks through
`board.outbox.services.add_handler` / `add_task`, from their own `init_app`.
"""


def init_app(app) -> None:
    """The `flask worker` command."""
    from board.outbox import cli

    app.cli.add_command(cli.worker)
