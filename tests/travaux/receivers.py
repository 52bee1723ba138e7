"""Real HTTP servers on loopback for what Travaux sends out: a webhook receiver and a small
Mastodon-compatible statuses API, each recording every request it gets."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self):
        return json.loads(self.body)


class Recorder:
    """A server in a thread. `answers` is a list of (status, seconds to wait first) used in
    turn (status None: the usual answer, late), then the usual answer for good; `requests`
    holds what arrived (lower-case header names)."""

    def __init__(self, respond=None):
        self.requests: list[Request] = []
        self.answers: list[tuple[int | None, float]] = []
        self.statuses: dict[str, str] = {}  # the Mastodon server's: key -> status id
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self._respond = respond or (lambda recorder, request: (200, b"ok", {}))
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                request = Request("POST", self.path,
                                  {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length), time.monotonic())
                with recorder.lock:
                    status, delay = (recorder.answers.pop(0) if recorder.answers
                                     else (None, 0.0))
                if delay:
                    time.sleep(delay)
                if status is None:
                    status, body, headers = recorder._respond(recorder, request)
                else:
                    body, headers = b"no", {}
                with recorder.arrived:
                    recorder.requests.append(request)
                    recorder.arrived.notify_all()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _mastodon(recorder: "Recorder", request: Request):
    """POST /api/v1/statuses as Mastodon answers it: a status with an id; the same key
    (Idempotency-Key) gets the same status back, not a new one."""
    if request.path != "/api/v1/statuses":
        return 404, b'{"error":"Not found"}', {"Content-Type": "application/json"}
    if request.headers.get("authorization") != "Bearer relay-token":
        return 401, b'{"error":"The access token is invalid"}', {}
    key = request.headers.get("idempotency-key")
    with recorder.lock:
        posted = recorder.statuses.setdefault(key, str(1000 + len(recorder.statuses)))
    body = json.dumps({"id": posted, "url": f"https://social.example/@travaux/{posted}",
                       "content": request.json()["status"]}).encode()
    return 200, body, {"Content-Type": "application/json"}


@pytest.fixture(name="receiver")
def receiver_fixture(app, monkeypatch):
    """A webhook receiver on 127.0.0.1, with WEBHOOK_ALLOW_PRIVATE on for the test."""
    recorder = Recorder()
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    yield recorder
    recorder.close()


@pytest.fixture(name="mastodon")
def mastodon_fixture(app, monkeypatch):
    """A Mastodon-compatible statuses API on 127.0.0.1 (token "relay-token")."""
    recorder = Recorder(_mastodon)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    yield recorder
    recorder.close()
