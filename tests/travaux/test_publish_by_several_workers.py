"""Several workers on PostgreSQL: one publish of the status site at a time, and no export
removes a folder that a publish command is still reading."""

import stat
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete, select, text

from board.clock import travel
from board.extensions import db
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due, queue
from board.travaux import services
from board.travaux.export import PUBLISH_LOCK
from board.urls import site_context
from tests.concurrency import run_together
from tests.factories import make_user
from tests.travaux.factories import make_service

# Reads the folder as rsync does (into the version the link points at), every file with a
# pause; fails if a file vanishes under it.
SLOW_READER = """#!/bin/sh
cd "$1" || exit 3
files=$(find . -type f | sort)
for f in $files; do
  sleep 0.05
  cat "$f" > /dev/null 2>&1 || { echo "vanished: $f" >> {log}; echo "vanished: $f" >&2; exit 4; }
done
echo "read $(echo "$files" | wc -l) files" >> {log}
"""


@pytest.fixture
def publishing(app, tmp_path, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: on SQLite one worker runs (flask worker makes sure)")
    log = tmp_path / "runs.log"
    script = tmp_path / "publish.sh"
    script.write_text(SLOW_READER.replace("{log}", str(log)))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setitem(app.config, "TRAVAUX_EXPORT_DIR", str(tmp_path / "site"))
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLISH_COMMAND", str(script))
    admin = make_user(role="admin")
    with site_context():
        services.open_incident(admin, kind="incident", title="Erreurs 503", impact="major",
                               services=[make_service("web", "Hébergement web")],
                               message="Nous enquêtons.")
    deliver_due()  # the job of that change: the site exists, as in production
    db.session.execute(delete(OutboxMessage))
    db.session.commit()
    log.write_text("")
    return log


def publish_rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "publish")
                              .order_by(OutboxMessage.id)).all()


def two_workers_at_once(app) -> list[dict]:
    """Run deliver_due in two threads, each with its own app context and connection."""
    return run_together(app, 2, lambda _n: deliver_due())


def test_two_workers_publishing_at_once_never_break_the_publish_command(app, publishing):
    for _round in range(3):
        # Two jobs due at once (two changes, each after the other's job was claimed).
        queue("publish", {})
        queue("publish", {})
        db.session.commit()
        results = two_workers_at_once(app)
        assert all(counts["failed"] == 0 for counts in results)
        # A job that found the other worker publishing runs later: the next pass takes it.
        with travel(timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"] + 1)):
            deliver_due()

    runs = publishing.read_text().splitlines()
    assert not [run for run in runs if run.startswith("vanished")], runs
    assert len(runs) == 6 and all(run.startswith("read ") for run in runs)
    rows = publish_rows()
    assert all(row.state == "sent" for row in rows)
    # Waiting for the other worker is no failed attempt.
    assert all(row.attempts == 1 for row in rows), [(r.attempts, r.last_error) for r in rows]


def test_a_publish_waits_while_another_worker_publishes(app, publishing, database_url):
    queue("publish", {})
    db.session.commit()
    other = create_engine(database_url)
    with other.connect() as conn:  # another worker, in the middle of its publish
        assert conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                           {"key": PUBLISH_LOCK})
        assert deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
        [row] = publish_rows()
        assert row.state == "pending" and row.attempts == 0
        assert "another worker is publishing" in row.last_error
        conn.rollback()  # its publish is over
    other.dispose()
    assert publishing.read_text() == ""  # nothing ran meanwhile

    with travel(timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"] + 1)):
        assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    [row] = publish_rows()
    assert row.state == "sent" and row.attempts == 1
    assert publishing.read_text().startswith("read ")


def test_waiting_publish_jobs_expire_by_age_too(app, publishing, database_url):
    queue("publish", {})
    db.session.commit()
    other = create_engine(database_url)
    with other.connect() as conn:
        conn.scalar(text("SELECT pg_advisory_lock(:key)"), {"key": PUBLISH_LOCK})
        with travel(timedelta(hours=app.config["OUTBOX_MAX_AGE_HOURS"] + 1)):
            assert deliver_due() == {"sent": 0, "retry": 0, "failed": 1}
    other.dispose()
    [row] = publish_rows()
    assert row.state == "failed" and "expired" in row.last_error
    assert "another worker is publishing" in row.last_error

