"""Webhook latency: from an admin's update to its arrival at a local endpoint, with the real
worker running: `make bench-webhooks`.

    python bench/webhook_latency.py                                   # SQLite
    BENCH_DB=postgresql://postgres@127.0.0.1:5432/test python bench/webhook_latency.py
    BENCH_UPDATES=50 BENCH_WORKER_INTERVAL=2 ...                      # the defaults

A throw-away database, the app under gunicorn (2 sync workers, as `make bench`), one
`flask worker` process with its default polling interval, and a receiver on 127.0.0.1 (an
http.server thread of this script; WEBHOOK_ALLOW_PRIVATE=1). An admin logs in and posts
BENCH_UPDATES updates to one incident through the page's form (POST
/travaux/incidents/<id>/updates), each after a random pause of 0 to 2.5 s so that updates
land at every moment of the worker's sleep; the clock runs from just before the POST to the
receiver's reading of the request. Prints p50, p95 and the maximum.

The worker polls: when a round delivers nothing it sleeps `--interval` seconds (2 by default)
before looking again, so the latency is bounded by that interval plus one delivery.
"""

import http.cookiejar
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, ROOT, app_env, database, gunicorn  # noqa: E402

UPDATES = int(os.environ.get("BENCH_UPDATES", "50"))
INTERVAL = os.environ.get("BENCH_WORKER_INTERVAL", "2")
GOAL_P95 = 5.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery"


class Receiver:
    """Records when each update's event arrives, by update id."""

    def __init__(self):
        self.arrived: dict[int, float] = {}
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                moment = time.monotonic()
                update = (json.loads(body)["data"].get("update") or {}).get("id")
                with receiver.condition:
                    receiver.arrived.setdefault(update, moment)
                    receiver.condition.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


def prepare(env: dict, hook_url: str) -> int:
    """Migrate, make an admin, an endpoint for incident.updated and one incident."""
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    script = (
        "from board import create_app\n"
        "from board.accounts.services import add_user\n"
        "from board.extensions import db\n"
        "from board.travaux import services, webhooks\n"
        "from board.urls import site_context\n"
        "app = create_app()\n"
        "with app.app_context(), site_context():\n"
        f"    admin = add_user('admin@example.org', 'Admin', {PASSWORD!r}, role='admin',"
        " confirmed=True)\n"
        "    db.session.commit()\n"
        f"    webhooks.save_endpoint(None, admin, url={hook_url!r}, description='bench',"
        " secret=None, event_types=['incident.updated'], services=[], staff_only=False,"
        " enabled=True)\n"
        "    incident = services.open_incident(admin, kind='incident', title='Bench',"
        " impact='minor', services=[], message='Start.')\n"
        "    print(incident.id)\n")
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1])


def browser(base: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def token(path: str) -> str:
        with opener.open(base + path, timeout=30) as response:
            found = CSRF.search(response.read().decode())
        if found is None:
            raise RuntimeError(f"no form on {path}: is the admin logged in?")
        return found[1]

    def post(path: str, fields: dict) -> int:
        data = urllib.parse.urlencode(fields).encode()
        with opener.open(base + path, data=data, timeout=30) as response:
            return response.status

    post("/login", {"email": "admin@example.org", "password": PASSWORD,
                    "csrf_token": token("/login")})
    return token, post


def main() -> int:
    receiver = Receiver()
    with database(os.environ.get("BENCH_DB"), "webhooks") as (url, folder):
        env = app_env(url, folder)
        env.update(WEBHOOK_ALLOW_PRIVATE="1", OUTBOX_JOURNAL="")
        incident_id = prepare(env, receiver.url)
        worker = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "worker",
                                   "--interval", INTERVAL], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with gunicorn("wsgi:app", env) as (base, _pid):
                token, post = browser(base)
                page = f"/travaux/incidents/{incident_id}"
                samples = []
                statuses = ["identified", "monitoring"]
                for number in range(UPDATES):
                    csrf = token(page)
                    time.sleep(random.uniform(0, 2.5))
                    seen = set(receiver.arrived)
                    started = time.monotonic()
                    post(page + "/updates", {"status": statuses[number % 2], "csrf_token": csrf,
                                             "message": f"Point n° {number + 1}."})
                    with receiver.condition:
                        receiver.condition.wait_for(
                            lambda seen=seen: set(receiver.arrived) - seen, 30)
                        new = set(receiver.arrived) - seen
                    if not new:
                        raise RuntimeError(f"update {number + 1} never arrived")
                    samples.append(receiver.arrived[new.pop()] - started)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            receiver.server.shutdown()
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    engine = "PostgreSQL" if os.environ.get("BENCH_DB") else "SQLite"
    print(f"webhook latency over {len(samples)} updates ({engine}, worker --interval "
          f"{INTERVAL}): p50 {statistics.median(samples):.2f} s, "
          f"p95 {p95:.2f} s, max {samples[-1]:.2f} s (goal: p95 < {GOAL_P95:g} s)")
    return 0 if p95 < GOAL_P95 else 1


if __name__ == "__main__":
    sys.exit(main())
