"""Operations: backups and restores, the delivery journal, `flask doctor`, start-up checks.

It sits above every domain (it may import any of them; none imports it)."""

from board.ops import cli
from board.ops.journal import write_delivery
from board.ops.workers import warn_unshared_rate_limits
from board.outbox import services as outbox


def init_app(app) -> None:
    """Register the operations commands and the delivery journal; warn about a set-up
    that will misbehave (several web workers counting rate limits apart)."""
    app.cli.add_command(cli.backup)
    app.cli.add_command(cli.reconcile_outbox)
    app.cli.add_command(cli.doctor)
    outbox.add_delivery_hook(app, write_delivery, domain="ops")
    warn_unshared_rate_limits(app)
