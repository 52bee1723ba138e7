"""The outbox: one row per side effect, delivered with retries by `flask worker`."""

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from board.clock import now
from board.extensions import db
from board.types import UTCDateTime, postgresql_options


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    # Only the rows still to deliver, in the order workers take them: picking the next one
    # stays an index lookup however long the queue (5,000 mails of a list, say).
    __table_args__ = (postgresql_options(
        Index("ix_outbox_due", "due_at", "id",
              sqlite_where=text("sent_at IS NULL AND failed_at IS NULL")),
        where=text("sent_at IS NULL AND failed_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="mail")
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def state(self) -> str:
        if self.sent_at:
            return "sent"
        return "failed" if self.failed_at else "pending"

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.state}>"
