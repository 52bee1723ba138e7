"""`flask worker`: deliver the outbox."""

import logging
import time

import click

from board.extensions import db
from board.outbox.services import TASKS, deliver_due
from board.urls import site_context


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver everything due, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
def worker(once: bool, interval: float):
    """Deliver the outbox: mail and publish jobs, with retries."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    while True:
        try:
            with site_context():
                for periodic in TASKS:
                    periodic()
            counts = deliver_due()
        except Exception:  # noqa: BLE001 - a worker outlives a database hiccup
            logging.getLogger("board.worker").exception("delivery round failed")
            db.session.rollback()
            counts = None
        if once:
            click.echo(f"sent {counts['sent']}, to retry {counts['retry']}, "
                       f"failed {counts['failed']}" if counts else "delivery failed")
            return
        if not counts or not any(counts.values()):
            time.sleep(interval)


def register(app) -> None:
    app.cli.add_command(worker)
