"""The list tests use the outbox tests' real SMTP server on loopback and their movable clock."""

from tests.outbox.conftest import _smtp_server, clock, smtp_server

__all__ = ["_smtp_server", "clock", "smtp_server"]
