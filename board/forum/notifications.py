"""What the site tells a member: a reply in a thread they watch, a mention, a quote of their
post, their report promoted, an incident they are affected by updated or resolved, their report
solved or merged.

Every domain tells a member through `notify`, inside the transaction of its change: the row
commits or rolls back with it. `notify` never tells anyone about what they may not see, nor
about their own action, and tells a member once per (kind, post) at most, so that an edit that
keeps a mention tells nobody again. The bell, `/notifications`, the read marks and the
per-kind preferences read this table.

Each kind has a preference per member (site, mail, both, none; DEFAULTS when unset). "Mail"
for a reply is the watch digest (board/forum/services.py), for a merge its own mail; the other
kinds are mailed in batches: the first notification a member gets by mail waits
MAIL_DELAY_SECONDS, and the ones that follow meanwhile join the same mail.
"""

from datetime import datetime, timedelta
from typing import cast

from flask import current_app, g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Boolean, ForeignKey, Index, String, case, func, select, true, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.forum.models import Post, Thread
from board.outbox.services import queue, queue_mail
from board.types import UTCDateTime
from board.urls import absolute
from board.visibility import can_see_post, can_see_thread, visible_posts, visible_threads

# The kinds, in the order the account page lists their preferences.
KINDS = ("reply", "mention", "quote", "promoted", "incident_updated", "incident_resolved",
         "solved", "merged")
SITE, MAIL, BOTH, NONE = "site", "mail", "both", "none"
DELIVERIES = (SITE, MAIL, BOTH, NONE)
# Replies and merges were mailed before the bell existed: they still are, unless one says not.
DEFAULTS = {"reply": BOTH, "mention": BOTH, "quote": SITE, "promoted": BOTH,
            "incident_updated": SITE, "incident_resolved": SITE, "solved": SITE, "merged": BOTH}
# What each kind is about, as the account page names it.
KIND_LABELS = {
    "reply": _l("Replies in threads I watch"),
    "mention": _l("Mentions of my name"),
    "quote": _l("Quotes of my messages"),
    "promoted": _l("My report becomes an official incident"),
    "incident_updated": _l("Updates of an incident I am affected by"),
    "incident_resolved": _l("Resolution of an incident I am affected by"),
    "solved": _l("Solutions: my reply chosen, or my thread solved"),
    "merged": _l("My report merged into another thread"),
}
DELIVERY_LABELS = {SITE: _l("In the site"), MAIL: _l("By mail"), BOTH: _l("Site and mail"),
                   NONE: _l("Never")}
# The kinds whose mail is sent by their own domain's code, not in this module's batches.
MAILED_ELSEWHERE = frozenset({"reply", "merged"})
MAIL_BATCH = "notification_mail"
MAIL_DELAY_SECONDS = 600
PENDING, SENT = "pending", "sent"


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
    # False for a member who wants this kind by mail only: the row waits for the mail batch
    # (read from the start, so the bell never counts it) and /notifications never lists it.
    in_site: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # PENDING while it waits for its mail batch, SENT once in one; None when not mailed here.
    mail_state: Mapped[str | None] = mapped_column(String(10))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    thread: Mapped[Thread | None] = relationship(foreign_keys=[thread_id])
    post: Mapped[Post | None] = relationship(foreign_keys=[post_id])


class NotificationSetting(db.Model):  # type: ignore[name-defined]
    """A member's choice for one kind, when it is not the default."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    delivery: Mapped[str] = mapped_column(String(10))


# Preferences ------------------------------------------------------------------------------

def preferences(user: User) -> dict[str, str]:
    """Every kind's delivery for `user`: their choices over the defaults (1 query)."""
    chosen = dict(db.session.execute(select(NotificationSetting.kind, NotificationSetting.delivery)
                                     .where(NotificationSetting.user_id == user.id)).all())
    return {kind: chosen.get(kind, DEFAULTS[kind]) for kind in KINDS}


def delivery(user: User, kind: str) -> str:
    """How `user` wants to hear of `kind` (1 query)."""
    chosen = db.session.scalar(select(NotificationSetting.delivery).where(
        NotificationSetting.user_id == user.id, NotificationSetting.kind == kind))
    return chosen or DEFAULTS[kind]


def wants_mail(user: User, kind: str) -> bool:
    """Whether `user` wants `kind` by mail (the watch digest and the merge mail ask)."""
    return delivery(user, kind) in (MAIL, BOTH)


def save_preferences(user: User, chosen: dict[str, str]) -> None:
    """Keep `user`'s choice per kind (only those that differ from the default). Commits."""
    db.session.execute(db.delete(NotificationSetting).where(
        NotificationSetting.user_id == user.id))
    db.session.add_all(NotificationSetting(user_id=user.id, kind=kind, delivery=value)
                       for kind, value in chosen.items()
                       if kind in KINDS and value in DELIVERIES and value != DEFAULTS[kind])
    db.session.commit()


# Telling ----------------------------------------------------------------------------------

def notify(user: User, kind: str, *, actor: User | None = None, thread: Thread | None = None,
           post: Post | None = None, incident_id: int | None = None) -> Notification | None:
    """Tell `user` that `kind` happened (in the caller's transaction), unless they did it
    themselves, may not see the thread or post, were already told this kind for this
    post, or want none of it in the site nor in this module's mail. Returns the new row, or
    None when nobody was told."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor is not None and actor.id == user.id:
        return None
    if not user.is_active:
        return None
    if thread is None and post is not None:
        thread = post.thread
    if thread is not None and not can_see_thread(user, thread):
        return None
    if post is not None and not can_see_post(user, post):
        return None
    how = delivery(user, kind)
    by_mail = how in (MAIL, BOTH) and kind not in MAILED_ELSEWHERE
    if how == NONE or (how == MAIL and not by_mail):
        return None
    if post is not None and db.session.scalar(select(Notification.id).where(
            Notification.user_id == user.id, Notification.kind == kind,
            Notification.post_id == post.id).limit(1)) is not None:
        return None
    row = Notification(user_id=user.id, kind=kind, actor_id=actor.id if actor else None,
                       thread_id=thread.id if thread else None,
                       post_id=post.id if post else None, incident_id=incident_id,
                       in_site=how != MAIL, read_at=now() if how == MAIL else None)
    if by_mail:
        _join_mail_batch(user, row)
    db.session.add(row)
    return row


def notify_each(kind: str, posts: dict[int, Post], actor: User | None = None,
                incident_id: int | None = None) -> None:
    """Tell each member of `posts` (user id → the new post that concerns them) that `kind`
    happened, in the caller's transaction, as `notify` would (those posts are new: nobody was
    told of them yet). A few queries whatever their number: a relayed update reaches every
    watcher and every member affected by an incident."""
    if not posts:
        return
    ids = list(posts)
    users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
    chosen = dict(db.session.execute(
        select(NotificationSetting.user_id, NotificationSetting.delivery)
        .where(NotificationSetting.user_id.in_(ids),
               NotificationSetting.kind == kind)).all())
    told = [(user, chosen.get(user.id, DEFAULTS[kind])) for user in users
            if (actor is None or user.id != actor.id) and user.is_active
            and can_see_post(user, posts[user.id])]
    mailed = kind not in MAILED_ELSEWHERE
    told = [(user, how) for user, how in told
            if how in (SITE, BOTH) or (how == MAIL and mailed)]
    waiting = set()
    if mailed and any(how in (MAIL, BOTH) for _user, how in told):
        waiting = set(db.session.scalars(select(Notification.user_id).where(
            Notification.user_id.in_(ids), Notification.mail_state == PENDING)))
    for user, how in told:
        post = posts[user.id]
        row = Notification(user_id=user.id, kind=kind, actor_id=actor.id if actor else None,
                           thread_id=post.thread_id, post_id=post.id, incident_id=incident_id,
                           in_site=how != MAIL, read_at=now() if how == MAIL else None)
        if mailed and how in (MAIL, BOTH):
            row.mail_state = PENDING
            if user.id not in waiting:
                _queue_mail_batch(user)
                waiting.add(user.id)
        db.session.add(row)


def _join_mail_batch(user: User, row: Notification) -> None:
    """Put `row` in `user`'s next notification mail; the first one waiting queues it."""
    waiting = db.session.scalar(select(Notification.id).where(
        Notification.user_id == user.id, Notification.mail_state == PENDING).limit(1))
    row.mail_state = PENDING
    if waiting is None:
        _queue_mail_batch(user)


def _queue_mail_batch(user: User) -> None:
    message = queue(MAIL_BATCH, {"user_id": user.id})
    message.due_at = now() + timedelta(seconds=current_app.config.get(
        "NOTIFICATION_MAIL_SECONDS", MAIL_DELAY_SECONDS))


def send_mail_batch(payload: dict) -> None:
    """The worker's half (outbox kind `notification_mail`, in the worker's transaction): one
    mail with every notification waiting for `user_id`, those they may still see."""
    user = db.session.get(User, payload["user_id"])
    if user is None:
        return
    rows = db.session.scalars(
        _still_visible(select(Notification).where(
            Notification.user_id == user.id, Notification.mail_state == PENDING), user)
        .options(joinedload(Notification.actor), joinedload(Notification.thread),
                 joinedload(Notification.post))
        .order_by(Notification.id)).all()
    db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.mail_state == PENDING)
        .values(mail_state=SENT))
    if not rows or not user.is_active:
        return
    items = [(row, absolute(link(row))) for row in rows]
    settings = absolute(url_for("accounts.account", _anchor="notifications"))
    queue_mail(user.email, "notifications", user.locale, user=user, items=items,
               describe=describe, settings=settings)


# Reading ----------------------------------------------------------------------------------

def _still_visible(stmt, viewer):
    """Restrict a statement over Notification to those whose thread and post `viewer` may
    still see (moved to a staff board or hidden since: no longer listed nor counted)."""
    post_seen = visible_posts(select(Post.id).where(Post.id == Notification.post_id),
                              viewer).exists()
    thread_seen = visible_threads(select(Thread.id).where(Thread.id == Notification.thread_id),
                                  viewer).exists()
    return stmt.where((Notification.post_id.is_(None) | post_seen),
                      (Notification.thread_id.is_(None) | thread_seen))


def listed(viewer):
    """The statement of `viewer`'s notifications as /notifications lists them, newest first."""
    return _still_visible(
        select(Notification).where(Notification.user_id == viewer.id, Notification.in_site)
        .options(joinedload(Notification.actor), joinedload(Notification.thread),
                 joinedload(Notification.post))
        .order_by(Notification.id.desc()), viewer)


def unread_count(user: User) -> int:
    """The bell's number: unread notifications about what `user` may still see (1 query)."""
    return db.session.scalar(_still_visible(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)), user)) or 0


def describe(row: Notification) -> str:
    """What happened, in a sentence of the current language."""
    actor = row.actor.name if row.actor is not None else _("The team")
    title = row.thread.title if row.thread is not None else ""
    return {
        "reply": lambda: _("%(actor)s replied in “%(title)s”", actor=actor, title=title),
        "mention": lambda: _("%(actor)s mentioned you in “%(title)s”", actor=actor, title=title),
        "quote": lambda: _("%(actor)s quoted you in “%(title)s”", actor=actor, title=title),
        "promoted": lambda: _("Your report “%(title)s” is now an official incident",
                              title=title),
        "incident_updated": lambda: _("An incident you are affected by has news: “%(title)s”",
                                      title=title),
        "incident_resolved": lambda: _("An incident you are affected by is resolved: "
                                       "“%(title)s”", title=title),
        "solved": lambda: (
            _("%(actor)s marked your reply as the solution in “%(title)s”", actor=actor,
              title=title) if row.post is not None and row.post.author_id == row.user_id
            else _("%(actor)s marked the solution of your thread “%(title)s”", actor=actor,
                   title=title)),
        "merged": lambda: _("Your report was merged into “%(title)s”", title=title),
    }[row.kind]()


def link(row: Notification) -> str:
    """Where a notification leads: its post, else its thread, else its incident."""
    if row.post_id:
        return url_for("forum.post", post_id=row.post_id)
    if row.thread_id and row.thread is not None:
        return url_for("forum.thread", thread_id=row.thread_id, slug=row.thread.slug)
    if row.incident_id:
        return url_for("travaux.incident", incident_id=row.incident_id)
    return url_for("notifications.index")


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of `user`'s notifications read, or all of them; how many changed. Commits."""
    stmt = update(Notification).where(Notification.user_id == user.id,
                                      Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    changed = cast(CursorResult, db.session.execute(stmt.values(read_at=now()))).rowcount
    db.session.commit()
    return changed


def thread_seen(user: User, thread: Thread) -> None:
    """`user` is reading `thread`: its notifications are read. One query (which also gives
    the bell its number for this page) when there are none; commits when there are."""
    total, here = db.session.execute(_still_visible(select(
        func.count(Notification.id),
        func.count(case((Notification.thread_id == thread.id, 1)))).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)), user)).one()
    if here:
        db.session.execute(update(Notification).where(
            Notification.user_id == user.id, Notification.thread_id == thread.id,
            Notification.read_at.is_(None)).values(read_at=now()))
        db.session.commit()
    g.unread_notifications = total - here


def init_app(app) -> None:
    """Templates ask `unread_notifications()` for the bell (one query, only where drawn,
    none where the page counted it already); the worker sends the mail batches."""
    from board.outbox.services import add_handler

    add_handler(app, MAIL_BATCH, send_mail_batch, domain="forum")

    @app.context_processor
    def _bell():
        def unread_notifications() -> int:
            if not current_user.is_authenticated:
                return 0
            if "unread_notifications" not in g:
                g.unread_notifications = unread_count(current_user)
            return g.unread_notifications

        return {"unread_notifications": unread_notifications}
