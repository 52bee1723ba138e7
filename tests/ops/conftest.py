"""Operations tests: the outbox tests' real SMTP server and clock, a real Redis server, and
a folder even root cannot write into."""

import shutil
import socket
import subprocess
import time

import pytest

from tests.outbox.conftest import _smtp_server, clock, closed_port_url, smtp_server

__all__ = ["_smtp_server", "clock", "closed_port_url", "smtp_server"]


def free_port() -> int:
    """A loopback port bound then closed: nobody listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, for this run only."""
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)  # waiting for a process we started, not for our own code
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def immutable_dir(tmp_path):
    """A folder nobody can add files to, root included (`chattr +i`)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if shutil.which("chattr") is None or \
            subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available on this file system")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=True)
