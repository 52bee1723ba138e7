"""The delivery journal: what the worker delivered, kept outside the database, so that a
restored backup does not deliver it a second time.

A backup is a picture of the database at one moment. Mail delivered after that moment is
still pending in the picture: restored as it is, the worker would send it again. So the worker
appends one line per delivered row to OUTBOX_JOURNAL (JSON lines), and after a restore
`flask reconcile-outbox` marks as sent the restored rows the journal knows:

- a mail by its Message-ID, fixed when it was queued. Not by row id: rows created after the
  backup are lost with the rest, and their ids are given again to new rows after the restore.
- a job (list fan-out...), or a mail queued without a Message-ID, by its id, kind and creation
  time together, which a new row reusing the id does not share. Jobs in RERUN_KINDS run again
  instead (see there).

Rows pending at backup time that the journal does not know were never delivered: they go out,
once. Rows queued after the backup are lost with the rest of that period.
"""

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from board.clock import now
from board.extensions import db
from board.outbox.models import OutboxMessage

log = logging.getLogger("board.ops")
# Jobs that run again after a restore even when the journal says they ran: a publish exports
# the restored state (what the status site should show); a watch digest clears the watcher's
# pending mark, restored as set, without which they would never hear of the thread again
# (their last digest may come twice).
RERUN_KINDS = frozenset({"publish", "watch_digest"})


def journal_path(app) -> Path | None:
    """OUTBOX_JOURNAL, or None when it is turned off (empty)."""
    value = app.config["OUTBOX_JOURNAL"]
    return Path(value) if value else None


def write_delivery(message: OutboxMessage) -> None:
    """Append a delivered row to the journal (the worker calls it before committing).

    Never raises: the mail is already gone, and a failure here must not make the worker
    send it again. One write() of a line opened in append mode, so several workers on one
    host can share the file."""
    path = journal_path(current_app)
    if path is None:
        return
    entry = {"id": message.id, "kind": message.kind,
             "created_at": message.created_at.isoformat(),
             "message_id": mail_message_id(message),
             "delivered_at": now().isoformat()}
    line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as error:
        log.error("outbox %s delivered but not journaled (%s): a restore could send it again",
                  message.id, error)


@dataclass
class Journal:
    """What one or more journal files say was delivered: when, by row key (see _key)."""

    delivered: dict[tuple, datetime] = field(default_factory=dict)
    unreadable: int = 0


def _key(row_id: int, kind: str, created_at: str, message_id: str | None) -> tuple:
    """A mail is known by its Message-ID; a job (or a mail queued without one) by its id,
    kind and creation time together."""
    if kind == "mail" and message_id:
        return ("mail", message_id)
    return (row_id, kind, created_at)


def read_journals(paths) -> Journal:
    """Read journal files; a torn or garbled line is counted, not fatal."""
    journal = Journal()
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    key = _key(entry["id"], entry["kind"], entry["created_at"],
                               entry.get("message_id"))
                    journal.delivered[key] = datetime.fromisoformat(entry["delivered_at"])
                except (ValueError, KeyError, TypeError, AttributeError):
                    journal.unreadable += 1
    return journal


@dataclass
class Reconciliation:
    marked: list[OutboxMessage]
    pending: int
    unreadable: int


def reconcile(paths) -> Reconciliation:
    """Mark as sent the pending rows the journals say were delivered. Commits."""
    journal = read_journals(paths)
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.sent_at.is_(None),
                                    OutboxMessage.failed_at.is_(None))
        .order_by(OutboxMessage.id)).all()
    marked = []
    for row in rows:
        delivered = _delivered_at(row, journal)
        if delivered is not None:
            row.sent_at = delivered
            row.last_error = None
            marked.append(row)
    db.session.commit()
    return Reconciliation(marked=marked, pending=len(rows) - len(marked),
                          unreadable=journal.unreadable)


def _delivered_at(row: OutboxMessage, journal: Journal) -> datetime | None:
    if row.kind in RERUN_KINDS:
        return None
    return journal.delivered.get(_key(row.id, row.kind, row.created_at.isoformat(),
                                      mail_message_id(row)))


def mail_message_id(row: OutboxMessage) -> str | None:
    """The Message-ID of a mail row (None for a job, whose payload may hold other ids)."""
    return (row.payload or {}).get("message_id") if row.kind == "mail" else None
