"""Rate limits: kept in Redis when REDIS_URL is set, so every process shares them, and counted
per visitor behind a trusted proxy."""

import os
import subprocess
import sys
import textwrap

import pytest
from flask import request

from board import create_app
from tests.conftest import TEST_CONFIG

SCRIPT = textwrap.dedent("""
    import re, sys
    from board import create_app
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                      "RATELIMIT_KEY_PREFIX": sys.argv[2]})
    from board.extensions import db
    with app.app_context():
        db.create_all()
    client = app.test_client()
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").data)
    data = {"email": "a@example.org", "password": "wrong password", "csrf_token": token.group(1)}
    print(" ".join(str(client.post("/login", data=data).status_code) for _ in range(11)))
    print(app.config["RATELIMIT_STORAGE_URI"])
""")


def test_login_limits_are_kept_in_redis(tmp_path):
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis = pytest.importorskip("redis")
    try:
        server = redis.Redis.from_url(url, socket_connect_timeout=1)
        server.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {url}")
    prefix = f"board-test-{os.getpid()}"
    env = {**os.environ, "REDIS_URL": url, "BOARD_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path}/rl.sqlite3", prefix],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    codes, storage = result.stdout.split("\n")[:2]
    assert codes.split() == ["200"] * 10 + ["429"]
    assert storage == url
    keys = server.keys(f"*{prefix}*")
    assert keys, "the limiter wrote nothing to Redis"
    server.delete(*keys)


def test_behind_a_proxy_rate_limits_see_each_visitor(database_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                      "TRUSTED_PROXIES": 1})
    seen = {}

    @app.get("/_whoami")
    def whoami():
        seen["addr"] = request.remote_addr
        return "ok"

    app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen["addr"] == "203.0.113.7"
