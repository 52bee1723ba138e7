"""`flask backup`, a real restore, and `flask reconcile-outbox`: after a restore, every mail
reaches the real SMTP server exactly once (SQLite, and PostgreSQL with pg_restore)."""

import gc
import json
import logging
import secrets
import shutil
import sqlite3
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from board.accounts.models import User
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Thread
from board.lists import services as lists
from board.lists.models import Subscription
from board.ops.backup import pg_environment
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due, queue_mail
from tests.factories import make_board, make_thread, make_user


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def queue_confirm(app, user) -> OutboxMessage:
    with app.test_request_context():
        message = queue_mail(user.email, "confirm", user=user, url="http://board.test/c/x")
    db.session.commit()
    return message


def back_up(runner, folder: Path) -> tuple[Path, dict]:
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    [manifest] = folder.glob("*.json")
    facts = json.loads(manifest.read_text())
    backup_file = folder / facts["file"]
    assert f"backup written: {backup_file}" in result.output
    assert f"manifest written: {manifest}" in result.output
    return backup_file, facts


def restore(backup_file: Path) -> None:
    """What the README says an operator does, the app and worker being stopped: here every
    engine on the file lets its connections go (the other apps earlier tests made too)."""
    db.session.remove()
    db.engine.dispose()
    if is_sqlite():
        target = db.engine.url.database
        gc.collect()
        for engine in [obj for obj in gc.get_objects() if isinstance(obj, Engine)]:
            if engine.url.database == target:
                engine.dispose()
        shutil.copyfile(backup_file, target)
        for suffix in ("-wal", "-shm"):
            Path(target + suffix).unlink(missing_ok=True)
        return
    program = shutil.which("pg_restore")
    if program is None:
        pytest.skip("pg_restore is not installed: the PostgreSQL restore cannot be played")
    done = subprocess.run([program, "--clean", "--if-exists", "--no-owner",
                           "--single-transaction", f"--dbname={db.engine.url.database}",
                           str(backup_file)],
                          env=pg_environment(db.engine.url), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def journal(app, tmp_path, monkeypatch):
    path = tmp_path / "journal.jsonl"
    monkeypatch.setitem(app.config, "OUTBOX_JOURNAL", str(path))
    return path


def message_ids(smtp_server) -> Counter:
    return Counter(message["Message-ID"] for message in smtp_server.messages)


def test_a_restore_then_reconciliation_delivers_every_mail_exactly_once(
        app, runner, smtp_server, journal, tmp_path):
    users = [make_user() for _ in range(3)]
    before = [queue_confirm(app, user) for user in users]
    ids = {row.id: row.payload["message_id"] for row in before}

    backup_file, facts = back_up(runner, tmp_path / "backups")
    assert [(row["id"], row["message_id"]) for row in facts["outbox_pending"]] == \
        list(ids.items())
    assert facts["outbox_last_id"] == max(ids)

    # After the backup: two of the three go out, the third waits (its mailbox is busy), and
    # a new mail is queued and sent.
    smtp_server.refuse(users[2].email, "450 4.2.1 Mailbox busy, try later")
    assert deliver_due() == {"sent": 2, "retry": 1, "failed": 0}
    after = queue_confirm(app, make_user())
    lost_id, lost_message_id = after.id, after.payload["message_id"]
    assert deliver_due()["sent"] == 1
    assert len(smtp_server.messages) == 3
    smtp_server.refused.clear()

    restore(backup_file)  # the database is back at the backup: three mails pending
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None))) == 3

    # The site is back before the operator reconciles: a mail queued now takes the id of
    # the lost one. The journal knows that id, but not this Message-ID: it must go out.
    fresh = queue_confirm(app, make_user())
    assert fresh.id == lost_id and fresh.payload["message_id"] != lost_message_id

    result = runner.invoke(args=["reconcile-outbox", str(journal)])
    assert result.exit_code == 0, result.output
    assert "2 rows already delivered marked sent; 2 pending rows will be delivered" \
        in result.output

    assert deliver_due() == {"sent": 2, "retry": 0, "failed": 0}
    received = message_ids(smtp_server)
    assert set(received) == {*ids.values(), lost_message_id, fresh.payload["message_id"]}
    assert set(received.values()) == {1}


def test_a_list_fan_out_run_after_the_backup_is_not_run_again(
        app, runner, smtp_server, journal, tmp_path):
    admin = make_user(role="admin")
    for name in ("ann", "bob", "eve"):
        db.session.add(Subscription(list=lists.get_list("informations"),
                                    email=f"{name}@example.org", status="active",
                                    token=secrets.token_urlsafe(32)))
    db.session.commit()
    with app.test_request_context():
        message = lists.compose(lists.get_list("informations"), admin, "Nouvelles", "Texte")
        lists.approve(message, admin)

    backup_file, facts = back_up(runner, tmp_path / "backups")
    assert [row["kind"] for row in facts["outbox_pending"]] == ["list_fanout"]
    deliver_due()  # the fan-out, then its three mails
    assert sorted(smtp_server.recipients()) == ["ann@example.org", "bob@example.org",
                                                "eve@example.org"]

    restore(backup_file)
    result = runner.invoke(args=["reconcile-outbox", str(journal)])
    assert result.exit_code == 0, result.output
    assert "list_fanout" in result.output

    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    assert len(smtp_server.recipients()) == 3


def test_rows_pending_at_backup_and_never_delivered_go_out_once(
        app, runner, smtp_server, journal, tmp_path):
    earlier = queue_confirm(app, make_user()).payload["message_id"]
    deliver_due()  # sent before the backup: the backup knows it
    pending = queue_confirm(app, make_user()).payload["message_id"]
    backup_file, _ = back_up(runner, tmp_path / "backups")
    smtp_server.stop()  # the mail server is down until the database is lost
    assert deliver_due()["retry"] == 1
    smtp_server.start()

    restore(backup_file)
    result = runner.invoke(args=["reconcile-outbox", str(journal)])
    assert "0 rows already delivered marked sent; 1 pending rows" in result.output
    deliver_due()
    assert message_ids(smtp_server) == Counter({earlier: 1, pending: 1})


def test_a_watch_digest_runs_again_after_a_restore_so_the_watcher_keeps_hearing(
        app, runner, smtp_server, journal, tmp_path, clock):
    author, bea = make_user(name="Alice"), make_user(name="Béa")
    thread = make_thread(board=make_board(), author=author, title="Panne")  # Alice watches
    thread_id, author_email, bea_id = thread.id, author.email, bea.id
    forum.reply(thread, bea, "Première vague.")
    backup_file, _ = back_up(runner, tmp_path / "backups")
    clock.advance(seconds=app.config["WATCH_DIGEST_SECONDS"] + 1)
    deliver_due()  # the digest job, then its mail

    restore(backup_file)
    result = runner.invoke(args=["reconcile-outbox", str(journal)])
    assert "0 rows already delivered marked sent; 1 pending rows" in result.output
    deliver_due()  # the digest of the first reply, a second time (README says so)
    thread = db.session.get(Thread, thread_id)
    forum.reply(thread, db.session.get(User, bea_id), "Deuxième vague.")
    clock.advance(seconds=app.config["WATCH_DIGEST_SECONDS"] + 1)
    deliver_due()

    bodies = [mail.get_body(("plain",)).get_content() for mail in smtp_server.messages
              if mail["To"].addresses[0].addr_spec == author_email]
    assert ["Deuxième vague." in body for body in bodies] == [False, False, True]


def test_reconciliation_without_a_journal_says_what_to_give(app, runner, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "OUTBOX_JOURNAL", str(tmp_path / "none.jsonl"))
    result = runner.invoke(args=["reconcile-outbox"])
    assert result.exit_code == 1
    assert "no journal at" in result.output and "Traceback" not in result.output


def test_a_torn_journal_line_is_counted_not_fatal(app, runner, journal, smtp_server):
    queue_confirm(app, make_user())
    deliver_due()
    with open(journal, "a") as handle:
        handle.write('{"id": 9, "kind": "ma')  # a worker killed in the middle of a line
    result = runner.invoke(args=["reconcile-outbox", str(journal)])
    assert result.exit_code == 0
    assert "1 unreadable journal lines skipped" in result.output


def test_a_journal_that_cannot_be_written_is_logged_and_the_mail_counts_as_sent(
        app, smtp_server, immutable_dir, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "OUTBOX_JOURNAL", str(immutable_dir / "journal.jsonl"))
    row = queue_confirm(app, make_user())
    with caplog.at_level(logging.ERROR, logger="board.ops"):
        assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}  # not sent again
    assert len(smtp_server.messages) == 1
    [record] = [r for r in caplog.records if r.name == "board.ops"]
    assert f"outbox {row.id} delivered but not journaled" in record.getMessage()


# The backup itself ---------------------------------------------------------------------------

def test_the_backup_and_its_manifest_are_one_snapshot_while_writers_go_on(
        app, runner, tmp_path, database_url):
    for _ in range(200):
        db.session.add(OutboxMessage(kind="mail", payload={"to": "x@example.org"}))
    db.session.commit()
    writer_engine = create_engine(database_url)
    stop, started = threading.Event(), threading.Barrier(2)

    def write():
        # Another process would do the same: commit rows one by one (SQLite: in the WAL).
        with writer_engine.connect() as conn:
            started.wait()
            while not stop.is_set():
                conn.execute(text("INSERT INTO outbox (kind, payload, created_at, due_at, "
                                  "attempts) VALUES ('mail', '{}', '2026-01-01 00:00:00', "
                                  "'2026-01-01 00:00:00', 0)"))
                conn.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        started.wait()
        backup_file, facts = back_up(runner, tmp_path / "backups")
    finally:
        stop.set()
        writer.join()
        writer_engine.dispose()
    assert db.session.scalar(select(func.max(OutboxMessage.id))) > facts["outbox_last_id"]

    if is_sqlite():
        copy = sqlite3.connect(backup_file)
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        count, last = copy.execute("SELECT count(*), max(id) FROM outbox").fetchone()
        copy.close()
    else:
        restore(backup_file)
        count, last = db.session.execute(select(func.count(), func.max(OutboxMessage.id))
                                         .select_from(OutboxMessage)).one()
    # The manifest saw exactly the rows of the backup: none more, none fewer.
    assert last == facts["outbox_last_id"]
    assert count == len(facts["outbox_pending"]) >= 200
    assert facts["database"] == db.engine.dialect.name and facts["alembic_revision"]


def test_a_backup_never_overwrites_an_earlier_one(app, runner, tmp_path):
    folder = tmp_path / "backups"
    for _ in range(3):  # the same second, most likely
        assert runner.invoke(args=["backup", str(folder)]).exit_code == 0
    manifests = [json.loads(path.read_text()) for path in folder.glob("*.json")]
    assert len({facts["file"] for facts in manifests}) == 3
    assert all((folder / facts["file"]).is_file() for facts in manifests)


def test_pg_dump_missing_is_one_clear_line(app, runner, tmp_path, monkeypatch):
    if is_sqlite():
        pytest.skip("pg_dump is for PostgreSQL (TEST_DATABASE_URL)")
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH where no pg_dump lives
    result = runner.invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: pg_dump not found on PATH")
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_a_backup_that_cannot_be_written_is_one_clear_line(app, runner, immutable_dir):
    result = runner.invoke(args=["backup", str(immutable_dir)])
    assert result.exit_code == 1
    expected = "Error: cannot write the backup: " if is_sqlite() else \
        "Error: pg_dump failed (exit 1): "  # pg_dump itself cannot write there
    assert result.output.startswith(expected), result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert list(immutable_dir.iterdir()) == []


def test_the_password_reaches_pg_dump_through_the_environment():
    env = pg_environment("postgresql+psycopg://board:s3cr%40t@db.internal:5433/prod"
                         "?sslmode=require")
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"],
            env["PGDATABASE"], env["PGSSLMODE"]) == \
        ("db.internal", "5433", "board", "s3cr@t", "prod", "require")
