"""`flask backup DIR`: a consistent copy of the database, and a manifest of its outbox.

SQLite is copied with its online backup API, which reads one snapshot while the app and the
worker keep writing (WAL), then checked with `PRAGMA integrity_check`. PostgreSQL is dumped by
`pg_dump --format=custom` inside a snapshot this process exports, so that the manifest
describes exactly the rows of the dump.
"""

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from board.clock import now
from board.extensions import db
from board.outbox.models import OutboxMessage


class BackupError(Exception):
    """The backup could not be made; the message says why in one line."""


@dataclass
class Backup:
    file: Path
    manifest: Path
    facts: dict


def make_backup(directory: str) -> Backup:
    """Back the database up into `directory`: a timestamped file and its JSON manifest."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot create {folder}: {error}") from None
    moment = now()
    url = db.engine.url
    kind = url.get_backend_name()
    suffix = {"sqlite": ".sqlite3", "postgresql": ".dump"}.get(kind)
    if suffix is None:
        raise BackupError(f"no backup method for {kind} databases")
    target, manifest = _free_names(folder, "board-" + moment.strftime("%Y%m%dT%H%M%SZ"), suffix)
    partial = target.with_name(target.name + ".partial")
    try:
        facts = _sqlite_backup(url, partial) if kind == "sqlite" else _pg_dump(url, partial)
        partial.rename(target)
    except (OSError, sqlite3.Error) as error:
        raise BackupError(f"cannot write the backup: {error}") from None
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        raise BackupError("cannot read the outbox of the backup (is the database migrated? "
                          f"`flask --app wsgi db upgrade`): {cause}") from None
    finally:
        partial.unlink(missing_ok=True)
    facts = {"created_at": moment.isoformat(), "database": kind, "file": target.name, **facts}
    try:
        manifest.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise BackupError(f"backup {target} written, but not its manifest: {error}") from None
    return Backup(file=target, manifest=manifest, facts=facts)


def _free_names(folder: Path, stem: str, suffix: str) -> tuple[Path, Path]:
    """The backup's file and manifest names: never those of an earlier backup."""
    for number in range(1, 1000):
        name = stem if number == 1 else f"{stem}-{number}"
        target, manifest = folder / f"{name}{suffix}", folder / f"{name}.json"
        if not target.exists() and not manifest.exists():
            return target, manifest
    raise BackupError(f"too many backups named {stem} in {folder}")


def _outbox_facts(conn) -> dict:
    """Alembic revision, newest outbox row, and the rows still to deliver, as `conn` sees
    them (the snapshot being backed up)."""
    revision = ",".join(conn.scalars(text("SELECT version_num FROM alembic_version")))
    table = OutboxMessage.__table__
    pending = conn.execute(
        select(table.c.id, table.c.kind, table.c.payload)
        .where(table.c.sent_at.is_(None), table.c.failed_at.is_(None))
        .order_by(table.c.id)).all()
    return {
        "alembic_revision": revision or None,
        "outbox_last_id": conn.scalar(select(func.max(table.c.id))),
        "outbox_pending": [
            {"id": row.id, "kind": row.kind,
             "message_id": (row.payload or {}).get("message_id") if row.kind == "mail" else None}
            for row in pending],
    }


# SQLite ------------------------------------------------------------------------------------

def _sqlite_backup(url, target: Path) -> dict:
    source_path = url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # One step (pages=-1): the whole copy reads one snapshot, writers carry on in the WAL.
        source.backup(copy)
        result = copy.execute("PRAGMA integrity_check").fetchall()
    finally:
        copy.close()
        source.close()
    if result != [("ok",)]:
        raise BackupError("the copy failed its integrity check: "
                          + "; ".join(row[0] for row in result[:3]))
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return _outbox_facts(conn)
    finally:
        engine.dispose()


# PostgreSQL --------------------------------------------------------------------------------

def pg_environment(url) -> dict:
    """libpq's variables for `url`: the password reaches pg_dump through the environment,
    never its command line (where `ps` shows it to every user of the machine)."""
    url = make_url(url)
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database),
                        ("PGSSLMODE", url.query.get("sslmode"))):
        if value:
            env[name] = str(value)
    return env


def _pg_dump(url, target: Path) -> dict:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError("pg_dump not found on PATH: install the PostgreSQL client "
                          "(Debian: apt-get install postgresql-client)")
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        # This transaction's snapshot is handed to pg_dump: manifest and dump see one state.
        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
        facts = _outbox_facts(conn)
        try:
            done = subprocess.run(
                [program, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                env=pg_environment(url), capture_output=True, text=True, timeout=6 * 3600)
        except (OSError, subprocess.SubprocessError) as error:
            raise BackupError(f"pg_dump could not run: {error}") from None
        conn.rollback()
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"pg_dump failed (exit {done.returncode}): "
                          + (lines[-1] if lines else "no message"))
    return facts
