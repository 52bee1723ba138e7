"""The audit log: who did which staff action to what, and when. Rows are only ever added.

A shared helper like markup and permissions: every domain records its staff actions here, and
it imports no domain (the actor is a row of `users`, named by its table).
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.clock import now
from board.extensions import db
from board.types import UTCDateTime


class AuditLog(db.Model):
    """Who did which staff action to what, and when. Rows are only ever added."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor = relationship("User", lazy="joined")


def record(actor, action: str, target_type: str, target_id: int | None, **details) -> AuditLog:
    """Add a staff action to the audit log, in the caller's transaction."""
    entry = AuditLog(actor_id=actor.id if actor else None, action=action,
                     target_type=target_type, target_id=target_id, details=details)
    db.session.add(entry)
    return entry
