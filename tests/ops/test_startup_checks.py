"""At start-up the application warns when several web workers would count rate limits each
on their own (no REDIS_URL), as gunicorn's settings announce them."""

import logging

import pytest

from board import create_app
from board.extensions import db
from board.ops.workers import expected_web_workers, warn_unshared_rate_limits
from tests.conftest import TEST_CONFIG

WARNING_TEXT = "REDIS_URL is not set: each process counts rate limits on its own"


def start(tmp_path, caplog, **config) -> list[str]:
    """Create an application as gunicorn's workers do; return the warnings it logged."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="board.ops"):
        app = create_app({**TEST_CONFIG, **config,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/start.sqlite3"})
    with app.app_context():
        db.engine.dispose()
    return [record.getMessage() for record in caplog.records
            if record.name == "board.ops" and record.levelno == logging.WARNING]


@pytest.fixture(autouse=True)
def _no_gunicorn_settings(monkeypatch):
    for name in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("name", "value"), [
    ("WEB_CONCURRENCY", "4"),
    ("GUNICORN_CMD_ARGS", "--bind 127.0.0.1:8000 --workers 4"),
    ("GUNICORN_CMD_ARGS", "-w4"),
])
def test_several_workers_without_redis_log_a_warning(tmp_path, caplog, monkeypatch, name,
                                                     value):
    monkeypatch.setenv(name, value)
    [warning] = start(tmp_path, caplog)
    assert warning.startswith("4 web workers expected") and WARNING_TEXT in warning


def test_one_worker_without_redis_is_quiet(tmp_path, caplog, monkeypatch):
    assert start(tmp_path, caplog) == []
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert start(tmp_path, caplog) == []


def test_several_workers_sharing_limits_in_redis_are_quiet(app, caplog, monkeypatch):
    # The check create_app runs, on the test application: a second application with Redis
    # storage would re-point the process-wide limiter at it for every later test.
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    with caplog.at_level(logging.WARNING, logger="board.ops"):
        warn_unshared_rate_limits(app)
    assert caplog.records == []
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "memory://")
    with caplog.at_level(logging.WARNING, logger="board.ops"):
        warn_unshared_rate_limits(app)
    assert WARNING_TEXT in caplog.records[0].getMessage()


def test_gunicorn_own_command_line_wins_over_its_environment():
    environ = {"WEB_CONCURRENCY": "2", "GUNICORN_CMD_ARGS": "--workers=3"}
    assert expected_web_workers(environ, ["/usr/bin/gunicorn", "-w", "5", "wsgi:app"]) == 5
    assert expected_web_workers(environ, ["flask", "run"]) == 3
    assert expected_web_workers({"WEB_CONCURRENCY": "2"}, ["flask"]) == 2
    assert expected_web_workers({"WEB_CONCURRENCY": "many"}, ["flask"]) == 1
