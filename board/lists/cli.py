"""`flask lists smtpd`: the inbound listener of the lists' posting addresses."""

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

lists = AppGroup("lists", help="Mailing lists.")


@lists.command("smtpd")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
def smtpd(host: str, port: int):
    """Receive mail for the lists' posting addresses (held for approval)."""
    from board.lists.inbound import make_controller  # aiosmtpd: for this command only

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    controller = make_controller(current_app._get_current_object(), host, port)
    controller.start()
    click.echo(f"listening on {host}:{port} (Ctrl-C stops)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()

