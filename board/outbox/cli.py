"""`flask worker`: deliver the outbox and run the domains' periodic tasks."""

import fcntl
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

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
    with _single_worker_lock():
        _work(once, interval)


def _work(once: bool, interval: float) -> None:
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


@contextmanager
def _single_worker_lock():
    """On SQLite, hold an exclusive lock on `<database file>.worker-lock` while the worker
    runs, or stop with an error if another worker holds it.

    SQLite has no SKIP LOCKED: two workers would claim the same rows and send them twice. The
    lock is the kernel's (flock), so it goes with the process however it ends, kill -9
    included: no stale lock to clean up, unlike a row in the database.
    """
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    path = Path(url.database).absolute()
    path = path.with_name(path.name + ".worker-lock")
    with open(path, "a+", encoding="ascii") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            raise click.ClickException(
                f"another worker (pid {holder}) is already running on this SQLite database "
                f"({path} is locked). SQLite allows only one worker, or mail would be sent "
                f"twice; stop the other one, or move to PostgreSQL to run several.") from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        logging.getLogger("board.worker").info("the only worker of this SQLite database "
                                               "(lock %s)", path)
        yield


def describe() -> list[str]:
    """One line per periodic task and per outbox kind, with the domain that gave it."""
    found = registry()
    lines = [f"task {t.name} (from {t.domain})" for t in found.tasks]
    lines.append("handler mail: board.outbox.services.deliver_due, SMTP or the log (from outbox)")
    lines += [f"handler {kind}: {h.name} (from {h.domain})"
              for kind, h in sorted(found.handlers.items())]
    return lines
