"""`flask worker`: deliver the outbox and run the domains' periodic tasks."""

import logging
import time

import click

from board.extensions import db
from board.outbox.services import deliver_due, registry, run_tasks
from board.urls import site_context


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver everything due, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
@click.option("--list", "list_only", is_flag=True,
              help="Name every task and handler the worker runs, and which domain gave it.")
def worker(once: bool, interval: float, list_only: bool):
    """Deliver the outbox (mail, list fan-outs, publish jobs...) with retries, and run the
    periodic tasks (maintenance windows...) at every round."""
    if list_only:
        click.echo("\n".join(describe()))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log = logging.getLogger("board.worker")
    for line in describe():
        log.info(line)
    while True:
        try:
            with site_context():
                run_tasks()
            counts = deliver_due()
        except Exception:  # noqa: BLE001 - a worker outlives a database hiccup
            log.exception("delivery round failed")
            db.session.rollback()
            counts = None
        if once:
            click.echo(f"sent {counts['sent']}, to retry {counts['retry']}, "
                       f"failed {counts['failed']}" if counts else "delivery failed")
            return
        if not counts or not any(counts.values()):
            time.sleep(interval)


def describe() -> list[str]:
    """One line per periodic task and per outbox kind, with the domain that gave it."""
    found = registry()
    lines = [f"task {t.name} (from {t.domain})" for t in found.tasks]
    lines.append("handler mail: board.outbox.services.deliver_due, SMTP or the log (from outbox)")
    lines += [f"handler {kind}: {h.name} (from {h.domain})"
              for kind, h in sorted(found.handlers.items())]
    return lines
