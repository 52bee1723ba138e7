"""What the site tells a member: a reply in a thread they watch, a mention, a quote of their
post, their report promoted, an incident they are affected by updated or resolved, their report
solved or merged.

Every domain tells a member through `notify`, inside the transaction of its change: the row
commits or rolls back with it. `notify` never tells anyone about what they may not see, nor
about their own action, and tells a member once per (kind, post) at most, so that an edit that
keeps a mention tells nobody again. The bell, `/notifications`, the read marks and the
per-kind preferences read this table.
"""

from datetime import datetime

from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.forum.models import Post, Thread
from board.types import UTCDateTime
from board.visibility import can_see_post, can_see_thread

# The kinds, in the order the account page lists their preferences.
KINDS = ("reply", "mention", "quote", "promoted", "incident_updated", "incident_resolved",
         "solved", "merged")


class Notification(db.Model):  # type: ignore[name-defined]
    __tablename__ = "notifications"
    # A member's list, newest first, and their unread count, both on one index.
    __table_args__ = (Index("ix_notifications_user", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    # Who did it (the replier, the one who mentioned), when a member did.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # The incident it is about (the table belongs to board.travaux: the forum names it and
    # never imports it).
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    thread: Mapped[Thread | None] = relationship(foreign_keys=[thread_id])
    post: Mapped[Post | None] = relationship(foreign_keys=[post_id])


def notify(user: User, kind: str, *, actor: User | None = None, thread: Thread | None = None,
           post: Post | None = None, incident_id: int | None = None) -> Notification | None:
    """Tell `user` that `kind` happened (in the caller's transaction), unless they did it
    themselves, may not see the thread or post, or were already told this kind for this
    post. Returns the new row, or None when nobody was told."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor is not None and actor.id == user.id:
        return None
    if thread is None and post is not None:
        thread = post.thread
    if thread is not None and not can_see_thread(user, thread):
        return None
    if post is not None and not can_see_post(user, post):
        return None
    if post is not None and db.session.scalar(select(Notification.id).where(
            Notification.user_id == user.id, Notification.kind == kind,
            Notification.post_id == post.id).limit(1)) is not None:
        return None
    row = Notification(user_id=user.id, kind=kind, actor_id=actor.id if actor else None,
                       thread_id=thread.id if thread else None,
                       post_id=post.id if post else None, incident_id=incident_id)
    db.session.add(row)
    return row


def unread_count(user: User) -> int:
    """The bell's number."""
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def init_app(app) -> None:
    """Templates ask `unread_notifications()` for the bell (one query, only where drawn)."""

    @app.context_processor
    def _bell():
        def unread_notifications() -> int:
            return unread_count(current_user) if current_user.is_authenticated else 0

        return {"unread_notifications": unread_notifications}
