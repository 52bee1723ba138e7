"""`flask doctor`: each check says OK when the deployment is right, and WARNING or ERROR, with
what to do, when it is not, against real conditions (ports, folders, commands, databases)."""

import os
import shutil
import stat

import pytest

from board import config, create_app
from board.extensions import db
from board.outbox.services import deliver_due, queue_mail
from tests.conftest import TEST_CONFIG
from tests.factories import make_user
from tests.ops.conftest import free_port


def doctor(runner, *args):
    result = runner.invoke(args=["doctor", *args])
    assert "Traceback" not in result.output
    return result


def line(result, check: str) -> str:
    """The finding of one check: `OK      SMTP: ...`."""
    [found] = [text for text in result.output.splitlines()
               if text.split(" ", 1)[-1].lstrip().startswith(f"{check}: ")]
    return found


def level(result, check: str) -> str:
    return line(result, check).split()[0]


@pytest.fixture
def healthy(app, monkeypatch, smtp_server):
    """A deployment with nothing to say against it (SMTP reachable, https, one proxy)."""
    monkeypatch.setitem(app.config, "BASE_URL", "https://communaute.example.org")
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_SECURE", True)
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    return app


def test_a_healthy_deployment_is_all_ok_and_exits_0(healthy, runner):
    result = doctor(runner)
    assert result.exit_code == 0, result.output
    levels = {line.split()[0] for line in result.output.splitlines() if line[:1] != " "}
    assert levels == {"OK"}, result.output
    assert "database: reachable, migrated (revision " in result.output


# Database ------------------------------------------------------------------------------------

def fresh_runner(url: str):
    fresh = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    return fresh, fresh.test_cli_runner()


def test_an_unmigrated_database_is_an_error(tmp_path):
    fresh, runner = fresh_runner("sqlite:///" + str(tmp_path / "fresh.sqlite3"))
    result = doctor(runner)
    assert result.exit_code == 1
    assert line(result, "database") == "ERROR   database: reachable but not migrated: run " \
                                       "`flask --app wsgi db upgrade`"
    assert level(result, "outbox") == "ERROR"
    with fresh.app_context():
        db.engine.dispose()


def test_a_database_behind_the_migrations_is_an_error(tmp_path):
    from flask_migrate import upgrade

    fresh, runner = fresh_runner("sqlite:///" + str(tmp_path / "old.sqlite3"))
    with fresh.app_context():
        upgrade(revision="e9581a01a492")  # one before the head
    result = doctor(runner)
    assert result.exit_code == 1
    assert "ERROR   database: at revision e9581a01a492, code expects " in result.output
    with fresh.app_context():
        db.engine.dispose()


def test_an_unreachable_database_is_an_error(tmp_path):
    fresh, runner = fresh_runner("sqlite:///" + str(tmp_path / "no" / "such" / "db.sqlite3"))
    result = doctor(runner)
    assert result.exit_code == 1
    assert line(result, "database").startswith("ERROR   database: cannot connect (")
    assert "check DATABASE_URL" in line(result, "database")


def test_a_stopped_postgresql_server_is_an_error(tmp_path):
    fresh, runner = fresh_runner(f"postgresql+psycopg://board@127.0.0.1:{free_port()}/board")
    result = doctor(runner)
    assert result.exit_code == 1
    assert line(result, "database").startswith("ERROR   database: cannot connect (")
    assert "Connection refused" in line(result, "database")


# Secret key, cookies -------------------------------------------------------------------------

def test_a_secret_key_from_the_environment_is_ok(app, runner):
    assert os.environ["SECRET_KEY"] == app.config["SECRET_KEY"]  # as the test set-up does
    assert level(doctor(runner), "SECRET_KEY") == "OK"


def test_a_generated_secret_key_warns_that_several_hosts_need_one_in_the_environment(
        app, runner, monkeypatch):
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setitem(app.config, "SECRET_KEY", config.load(app.instance_path)["SECRET_KEY"])
    found = line(doctor(runner), "SECRET_KEY")
    assert found.startswith("WARNING")
    assert "several hosts need the same SECRET_KEY in their environment" in found


@pytest.mark.parametrize(("base_url", "secure", "expected"), [
    ("https://communaute.example.org", True, "OK"),
    ("http://127.0.0.1:5000", False, "OK"),
    ("http://localhost:5000", False, "OK"),
    ("http://communaute.example.org", False, "WARNING"),
    ("https://communaute.example.org", False, "ERROR"),  # cookies would travel in clear
    ("http://communaute.example.org", True, "ERROR"),  # nobody could log in
    ("communaute.example.org", False, "ERROR"),
])
def test_base_url_and_secure_cookies_agree(app, runner, monkeypatch, base_url, secure,
                                           expected):
    monkeypatch.setitem(app.config, "BASE_URL", base_url)
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", secure)
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_SECURE", secure)
    result = doctor(runner)
    assert level(result, "BASE_URL") == expected, line(result, "BASE_URL")
    if expected == "WARNING":
        assert "set BASE_URL=https://" in line(result, "BASE_URL")


# SMTP, Redis, rate limits --------------------------------------------------------------------

def test_a_reachable_smtp_server_is_ok(app, runner, smtp_server):
    found = line(doctor(runner), "SMTP")
    assert found.startswith(f"OK      SMTP: 127.0.0.1:{smtp_server.port} answers EHLO")


def test_a_stopped_smtp_server_is_an_error(app, runner, monkeypatch, closed_port_url):
    monkeypatch.setitem(app.config, "SMTP_URL", closed_port_url)
    result = doctor(runner)
    assert result.exit_code == 1
    assert line(result, "SMTP").startswith("ERROR   SMTP: 127.0.0.1:")
    assert "ConnectionRefusedError" in line(result, "SMTP")


def test_no_smtp_url_warns_that_mail_goes_to_the_log(app, runner):
    assert app.config["SMTP_URL"] == ""
    found = line(doctor(runner), "SMTP")
    assert found.startswith("WARNING") and "mail is written to the worker's log" in found


def test_a_reachable_redis_is_ok(app, runner, monkeypatch, redis_url):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    assert line(doctor(runner), "Redis") == f"OK      Redis: {redis_url} answers PING"


def test_a_stopped_redis_is_an_error_without_its_password(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    result = doctor(runner)
    assert result.exit_code == 1
    assert level(result, "Redis") == "ERROR"
    assert "hunter2" not in result.output and ":***@" in result.output


@pytest.mark.parametrize(("args", "environ"), [
    (["--workers", "4"], {}),
    ([], {"WEB_CONCURRENCY": "4"}),
    ([], {"GUNICORN_CMD_ARGS": "--bind 127.0.0.1:8000 --workers=4"}),
])
def test_several_web_workers_without_redis_warn_that_limits_count_per_process(
        app, runner, monkeypatch, args, environ):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    found = line(doctor(runner, *args), "rate limits")
    assert found.startswith("WARNING") and "4 web workers expected without REDIS_URL" in found


def test_several_web_workers_with_shared_limits_are_ok(app, runner, monkeypatch, redis_url):
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", redis_url)
    assert level(doctor(runner, "--workers", "4"), "rate limits") == "OK"


# Proxies -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("hops", "base_url", "expected"), [
    (0, "http://127.0.0.1:5000", "OK"),
    (1, "https://communaute.example.org", "OK"),
    (2, "https://communaute.example.org", "OK"),
    (0, "https://communaute.example.org", "WARNING"),  # behind TLS: a proxy, most likely
    (5, "https://communaute.example.org", "WARNING"),
    (-1, "https://communaute.example.org", "ERROR"),
])
def test_trusted_proxies_is_explained_and_checked(app, runner, monkeypatch, hops, base_url,
                                                  expected):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", hops)
    monkeypatch.setitem(app.config, "BASE_URL", base_url)
    found = line(doctor(runner), "TRUSTED_PROXIES")
    assert found.split()[0] == expected, found
    if hops > 0:
        assert "the Nth address from the end of X-Forwarded-For" in found
        assert "lets visitors forge their address and bypass rate limits" in found
    if hops == 0 and expected == "WARNING":
        assert "shares one rate-limit bucket" in found


# Export and publish --------------------------------------------------------------------------

def test_a_writable_export_dir_is_ok(app, runner, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "TRAVAUX_EXPORT_DIR", str(tmp_path / "site"))
    assert level(doctor(runner), "TRAVAUX_EXPORT_DIR") == "OK"
    assert list(tmp_path.iterdir()) == []  # the doctor leaves nothing behind


def test_an_export_dir_in_a_locked_folder_is_an_error(app, runner, monkeypatch, immutable_dir):
    monkeypatch.setitem(app.config, "TRAVAUX_EXPORT_DIR", str(immutable_dir / "site"))
    result = doctor(runner)
    assert result.exit_code == 1
    assert line(result, "TRAVAUX_EXPORT_DIR").startswith(
        f"ERROR   TRAVAUX_EXPORT_DIR: cannot write next to {immutable_dir / 'site'}")


def test_an_export_dir_under_a_file_is_an_error(app, runner, monkeypatch, tmp_path):
    (tmp_path / "notes.txt").write_text("not a folder")
    monkeypatch.setitem(app.config, "TRAVAUX_EXPORT_DIR", str(tmp_path / "notes.txt" / "site"))
    assert level(doctor(runner), "TRAVAUX_EXPORT_DIR") == "ERROR"


def test_a_publish_command_on_path_or_as_an_executable_is_ok(app, runner, monkeypatch,
                                                             tmp_path):
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLISH_COMMAND", "sh -c 'exit 0'")
    assert line(doctor(runner), "TRAVAUX_PUBLISH_COMMAND") == \
        f"OK      TRAVAUX_PUBLISH_COMMAND: {shutil.which('sh')} is executable"
    script = tmp_path / "publish-status"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLISH_COMMAND", f"{script} --quiet")
    assert line(doctor(runner), "TRAVAUX_PUBLISH_COMMAND") == \
        f"OK      TRAVAUX_PUBLISH_COMMAND: {script} is executable"


def test_a_missing_publish_command_is_an_error(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLISH_COMMAND", "publish-status-nowhere --all")
    result = doctor(runner)
    assert result.exit_code == 1
    assert line(result, "TRAVAUX_PUBLISH_COMMAND").startswith(
        "ERROR   TRAVAUX_PUBLISH_COMMAND: publish-status-nowhere: not found on PATH")


def test_a_publish_script_without_its_x_bit_is_an_error(app, runner, monkeypatch, tmp_path):
    script = tmp_path / "publish-status"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLISH_COMMAND", str(script))
    found = line(doctor(runner), "TRAVAUX_PUBLISH_COMMAND")
    assert found.startswith(f"ERROR   TRAVAUX_PUBLISH_COMMAND: {script}: not executable")
    assert "chmod +x" in found
    script.unlink()
    found = line(doctor(runner), "TRAVAUX_PUBLISH_COMMAND")
    assert found.startswith(f"ERROR   TRAVAUX_PUBLISH_COMMAND: {script}: no such file")


# Outbox --------------------------------------------------------------------------------------

def queue_to(app, address: str):
    with app.test_request_context():
        queue_mail(address, "confirm", user=make_user(), url="http://board.test/c/x")
    db.session.commit()


def test_an_empty_outbox_is_ok(app, runner):
    assert line(doctor(runner), "outbox") == "OK      outbox: 0 pending, 0 overdue, 0 failed"


def test_overdue_mail_warns_that_the_worker_may_be_down(app, runner, clock):
    queue_to(app, "late@example.org")
    assert line(doctor(runner), "outbox") == "OK      outbox: 1 pending, 0 overdue, 0 failed"
    clock.advance(minutes=11)
    found = line(doctor(runner), "outbox")
    assert found.startswith("WARNING outbox: 1 pending, 1 overdue, 0 failed")
    assert "is `flask --app wsgi worker` running?" in found


def test_failed_mail_is_shown_with_the_last_errors_of_the_newest_five(app, runner,
                                                                      smtp_server, clock):
    for number in range(6):
        address = f"gone{number}@example.org"
        smtp_server.refuse(address, f"550 5.1.1 <{address}> no such user")
        queue_to(app, address)
        deliver_due()
        clock.advance(minutes=1)
    result = doctor(runner)
    assert result.exit_code == 0  # a warning: the deployment runs
    found = line(result, "outbox")
    assert found.startswith("WARNING outbox: 0 pending, 0 overdue, 6 failed")
    details = [text.strip() for text in result.output.splitlines()
               if text.startswith(" ") and " mail failed " in text]
    assert len(details) == 5
    assert "gone5@example.org" in details[0] and "gone1@example.org" in details[4]
    assert all("SMTPRecipientsRefused" in text and "550" in text for text in details)
    assert "gone0@example.org" not in result.output
