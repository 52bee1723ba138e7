"""On SQLite, which has no SKIP LOCKED, only one worker may run: a second one refuses to
start, and the lock goes with its holder however it ends."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from board.extensions import db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_env(app, database_url):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the single-worker lock is SQLite's; PostgreSQL runs any number")
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    env.pop("SMTP_URL", None)
    return env


def flask(env, *args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)


def start_worker(env) -> subprocess.Popen:
    """A long-running `flask worker`, returned once it has started its loop."""
    holder = flask(env, "worker", "--interval", "0.5")
    for line in holder.stderr:
        if "handler mail:" in line:  # the list of what it runs, logged once started
            return holder
    holder.wait(timeout=10)
    pytest.fail(f"the worker did not start (exit {holder.returncode})")


def run_once(env) -> subprocess.CompletedProcess:
    process = flask(env, "worker", "--once")
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_a_second_worker_on_sqlite_refuses_to_start(sqlite_env):
    holder = start_worker(sqlite_env)
    try:
        second = run_once(sqlite_env)
        assert second.returncode != 0
        assert "another worker" in second.stderr and f"pid {holder.pid}" in second.stderr
        assert "already running" in second.stderr and "sent 0" not in second.stdout
        assert "Traceback" not in second.stderr
    finally:
        holder.terminate()
        holder.communicate(timeout=10)
    # Once the first has stopped, a worker starts.
    assert run_once(sqlite_env).returncode == 0


def test_the_lock_goes_with_a_worker_killed_outright(sqlite_env):
    holder = start_worker(sqlite_env)
    assert run_once(sqlite_env).returncode != 0
    holder.kill()  # SIGKILL: no cleanup code runs
    holder.communicate(timeout=10)
    after = run_once(sqlite_env)
    assert after.returncode == 0, after.stderr
    assert "sent 0, to retry 0, failed 0" in after.stdout
