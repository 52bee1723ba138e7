"""Flags: a member tells staff that a post breaks the rules (spam, abuse, off topic, or
something else in their words), once per post, never their own.

Staff decide from the moderation queue (board/forum/flag_views.py): hide the post, keep it
(the flags are dismissed), or warn its author by mail. Flags from FLAG_HIDE_THRESHOLD distinct
members hide the post until staff decide, through the forum's own hiding (board/visibility.py
keeps deciding who sees it): such a post is hidden by nobody, which is how staff tell it. Every
decision, the system's included, goes to the audit log.

Flags on one post take turns: each locks the post's row first, so the threshold is crossed by
one flag exactly, however many members flag at once.
"""

from datetime import datetime

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.accounts.models import User
from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum.models import Post
from board.forum.services import add_hiding, add_showing
from board.outbox.services import queue_mail
from board.types import UTCDateTime
from board.urls import absolute
from board.visibility import can_see_post, guest_restriction

REASONS = {
    "spam": _l("Spam or advertising"),
    "abuse": _l("Abusive or offensive"),
    "off_topic": _l("Off topic"),
    "other": _l("Something else"),
}
NOTE_MAX = 500
WARNING_MAX = 2000
# How staff closed a flag.
HIDDEN, KEPT = "hidden", "kept"


class Flag(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """One member's flag on one post; open until staff decide."""

    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id", name="uq_flags_post_user"),
        # The queue and the staff bar's count read the open flags alone.
        Index("ix_flags_open", "resolved_at", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(String(10))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    post: Mapped[Post] = relationship()


class FlagError(ValueError):
    """A flag refused, for a reason the member should read: "own", "again", "reason",
    "note"."""


def hidden_by_flags(post: Post) -> bool:
    """Whether the post is hidden by its flags (by nobody), waiting for staff."""
    return guest_restriction(post) == "hidden" and post.hidden_by_id is None


def _lock(post: Post) -> None:
    """Lock the post's row until commit and read it afresh (whether another flag has just
    hidden it). FOR NO KEY UPDATE: adding a flag holds a KEY SHARE lock on its post, which
    FOR UPDATE would wait for. SQLite has no row locks and needs none: writers take turns."""
    db.session.flush()
    db.session.execute(select(Post).where(Post.id == post.id).with_for_update(key_share=True)
                       .execution_options(populate_existing=True)).scalar_one()


def _open(post_id: int):
    return select(Flag).where(Flag.post_id == post_id, Flag.resolved_at.is_(None))


def flag_post(post: Post, member: User, reason: str, note: str = "") -> bool:
    """`member` flags `post` (one they may see, not theirs) for `reason`; "other" needs a
    note. The flag that brings the post's open flags to the threshold hides it until staff
    decide. Commits; whether this flag hid the post."""
    note = (note or "").strip()[:NOTE_MAX]
    if post.author_id == member.id:
        raise FlagError("own")
    if reason not in REASONS:
        raise FlagError("reason")
    if reason == "other" and not note:
        raise FlagError("note")
    _lock(post)
    if db.session.scalar(select(Flag.id).where(Flag.post_id == post.id,
                                               Flag.user_id == member.id)) is not None:
        db.session.rollback()
        raise FlagError("again")
    db.session.add(Flag(post_id=post.id, user_id=member.id, reason=reason, note=note))
    try:
        db.session.flush()
    except IntegrityError:  # the same member, twice at once
        db.session.rollback()
        raise FlagError("again") from None
    count = db.session.scalar(select(func.count()).select_from(_open(post.id).subquery()))
    threshold = current_app.config["FLAG_HIDE_THRESHOLD"]
    # Crossed once: a post staff showed again while its flags wait is not hidden again by
    # one more flag (their decision stands until they close the flags).
    hide = threshold > 0 and count == threshold and guest_restriction(post) != "hidden"
    if hide:
        add_hiding(post, None)
        record(None, "flag.auto_hide", "post", post.id, thread=post.thread_id, flags=count)
    db.session.commit()
    return hide


def _close(post: Post, actor: User, resolution: str) -> int:
    flags = db.session.scalars(_open(post.id)).all()
    for flag in flags:
        flag.resolved_at, flag.resolved_by_id, flag.resolution = now(), actor.id, resolution
    return len(flags)


def hide_flagged(post: Post, actor: User) -> None:
    """Staff uphold the flags: the post is hidden (by them, when its flags had hidden it) and
    its open flags are closed. Commits."""
    _lock(post)
    closed = _close(post, actor, HIDDEN)
    if guest_restriction(post) != "hidden" or post.hidden_by_id is None:
        add_hiding(post, actor)
    record(actor, "flag.hide", "post", post.id, thread=post.thread_id, flags=closed)
    db.session.commit()


def keep_flagged(post: Post, actor: User) -> None:
    """Staff dismiss the flags: they are closed, and a post its flags had hidden is shown
    again. Commits."""
    _lock(post)
    was_hidden = hidden_by_flags(post)
    closed = _close(post, actor, KEPT)
    if was_hidden:
        add_showing(post)
    record(actor, "flag.keep", "post", post.id, thread=post.thread_id, flags=closed,
           shown_again=was_hidden)
    db.session.commit()


def warn_author(post: Post, actor: User, message: str) -> None:
    """Mail the post's author a warning from staff (through the outbox), with their post's
    text; the flags stay open for the decision. Commits."""
    author = post.author
    link = (absolute(url_for("forum.post", post_id=post.id))
            if can_see_post(author, post) else None)
    queue_mail(author.email, "flag_warning", author.locale, user=author, post=post,
               message=message.strip()[:WARNING_MAX], link=link)
    record(actor, "flag.warn", "post", post.id, thread=post.thread_id,
           message=message.strip()[:WARNING_MAX])
    db.session.commit()


def waiting_count() -> int:
    """How many posts wait in the moderation queue (those with open flags)."""
    return db.session.scalar(select(func.count(func.distinct(Flag.post_id)))
                             .where(Flag.resolved_at.is_(None))) or 0
