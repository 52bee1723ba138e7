"""A real SMTP server on loopback (aiosmtpd), and a clock the tests can move forward."""

import email
import email.policy
import socket
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from board.clock import travel


@dataclass
class Received:
    """One message the SMTP server accepted (answered 250 to DATA)."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Controller(Controller):
    """aiosmtpd's controller, bound to port 0: the port the system chose is read back before
    the controller connects to itself to check that the server answers."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPServer:
    """The SMTP server and the handler collecting what it accepts. Tests can make it refuse
    recipients (`refuse`), answer 451 to DATA after some messages (`fail_after`), crash after
    some messages (`crash_after`: the listener is closed, connections are refused), or stop and
    start it again on the same port."""

    def __init__(self):
        self.port = 0
        self.lock = threading.Lock()
        self._controller = None
        self._stopping = None
        self.reset()

    # Control, from the tests --------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        self._join_stopping()
        if self._controller is None:
            controller = _Controller(self, hostname="127.0.0.1", port=self.port)
            controller.start()
            self.port = controller.port
            self._controller = controller

    def stop(self) -> None:
        self._join_stopping()
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def reset(self) -> None:
        """Forget the messages received and the failures planned."""
        with self.lock:
            self.received: list[Received] = []
            self.refused: dict[str, str] = {}
            self.accept_limit: int | None = None
            self.crash_limit: int | None = None

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user here") -> None:
        self.refused[address] = reply

    def fail_after(self, count: int | None) -> None:
        """Answer "451 try later" to every DATA once `count` messages were accepted."""
        self.accept_limit = count

    def crash_after(self, count: int) -> None:
        """Shut the server down (listener closed, connection dropped) when a message comes
        in after `count` messages were accepted. `start()` brings it back on the same port."""
        self.crash_limit = count

    @property
    def messages(self) -> list[EmailMessage]:
        return [received.message for received in self.received]

    def recipients(self) -> list[str]:
        """Every envelope recipient of every message accepted, repeats included."""
        return [address for received in self.received for address in received.rcpt_tos]

    def _join_stopping(self) -> None:
        if self._stopping is not None:
            self._stopping.join(timeout=5)
            assert not self._stopping.is_alive(), "the SMTP server did not stop"
            self._stopping = None

    # aiosmtpd handler hooks, in the server's thread -----------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            accepted = len(self.received)
            if self.crash_limit is not None and accepted >= self.crash_limit:
                # Stop from another thread (stopping joins this one); the message is not
                # acknowledged, so the client must not count it as sent.
                self.crash_limit = None
                controller, self._controller = self._controller, None
                self._stopping = threading.Thread(target=controller.stop)
                self._stopping.start()
                return "421 4.3.2 Service shutting down"
            if self.accept_limit is not None and accepted >= self.accept_limit:
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def _smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(_smtp_server, app, monkeypatch):
    """The loopback SMTP server, running and empty, with SMTP_URL pointing at it."""
    _smtp_server.start()
    _smtp_server.reset()
    monkeypatch.setitem(app.config, "SMTP_URL", _smtp_server.url)
    yield _smtp_server
    _smtp_server.start()  # a test that stopped it leaves it running for the next one
    _smtp_server.reset()


@pytest.fixture
def closed_port_url() -> str:
    """An SMTP URL on a loopback port nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"smtp://127.0.0.1:{port}"


class Clock:
    def __init__(self, stack: ExitStack):
        self._stack = stack

    def advance(self, **delta) -> None:
        """Move board.clock.now() forward, until the end of the test: advance(seconds=31)."""
        self._stack.enter_context(travel(timedelta(**delta)))


@pytest.fixture
def clock():
    with ExitStack() as stack:
        yield Clock(stack)


class RefusingServer:
    """A listener on loopback that answers every connection "421 Service not available" and
    hangs up, as a mail server does while it cannot take mail; it counts the connections."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.settimeout(0.1)  # so that close() is seen at once
        self.connections = 0
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _address = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                self.connections += 1
                conn.sendall(b"421 4.3.2 Service not available, closing channel\r\n")

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def refusing_server():
    server = RefusingServer()
    yield server
    server.close()
