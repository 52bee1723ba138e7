"""The list tests use the outbox tests' real SMTP server on loopback and their movable clock,
and the lists' own SMTP listener (board.lists.inbound) on a free loopback port."""

import socket

import pytest

from board.extensions import db
from board.lists import services as lists
from board.lists.inbound import make_controller
from board.lists.models import AllowedSender
from tests.outbox.conftest import _smtp_server, clock, smtp_server

__all__ = ["_smtp_server", "clock", "smtp_server"]

ALLOWED = "annonces@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def listener(app):
    """The lists' SMTP listener on a free loopback port, with ALLOWED allowed on
    "informations" only. Yields (host, port)."""
    informations = lists.get_list("informations")
    db.session.add(AllowedSender(list=informations, email=ALLOWED))
    db.session.commit()  # the listener reads in its own thread, through its own session
    port = free_port()
    controller = make_controller(app, "127.0.0.1", port)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


@pytest.fixture
def domain(app) -> str:
    return lists._domain()
