"""Boards, threads and posts. Counters are kept by the services, never by the models."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.types import UTCDateTime, postgresql_options

# Who may see a board: everyone, or staff only (board/visibility.py applies it).
PUBLIC, STAFF = "public", "staff"
VISIBILITIES = (PUBLIC, STAFF)


class HideableMixin:
    """Hidden content stays in the database; board/visibility.py decides who still sees it."""

    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Board(db.Model):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    # Public counts: what a guest sees (visible threads and their visible posts).
    thread_count: Mapped[int] = mapped_column(default=0)
    post_count: Mapped[int] = mapped_column(default=0)
    last_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL")
    )
    # Moves whenever what the board's feed shows changes (feeds' ETag and Last-Modified).
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # The Travaux service its reports are about unless their author says otherwise (the
    # table belongs to board.travaux: the forum names it and never imports it).
    default_service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"))
    # A help board: its threads' authors (and staff) mark the reply that solved the problem.
    solvable: Mapped[bool] = mapped_column(default=False, server_default=false())

    last_post: Mapped["Post | None"] = relationship(foreign_keys=[last_post_id])


class Thread(HideableMixin, db.Model):
    __tablename__ = "threads"
    # One index per order a page or a feed reads threads in, each scanned backward for the
    # newest first: a page costs what it shows (board pages, board/forum/listing.py; the
    # feeds, board/forum/feeds.py). The listing's also holds hidden_at, so that a numbered
    # page skips the threads before it on the index alone. Hidden threads are few: staff's
    # count of them reads its own small partial index.
    __table_args__ = (
        Index("ix_threads_listing", "board_id", "pinned", "last_activity_at", "id",
              "hidden_at"),
        Index("ix_threads_created", "created_at", "id"),
        Index("ix_threads_board_created", "board_id", "created_at", "id"),
        postgresql_options(Index("ix_threads_hidden", "board_id",
                                 sqlite_where=text("hidden_at IS NOT NULL")),
                           where=text("hidden_at IS NOT NULL")),
        # A board's guest cache stamp: its threads' latest change.
        Index("ix_threads_board_changed", "board_id", "changed_at"),
        # Reports on one service, newest first (search, similar reports, spikes).
        Index("ix_threads_service_created", "service_id", "created_at"),
        # A member's threads, newest first (their profile).
        Index("ix_threads_author_created", "author_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(150))
    slug: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # Visible posts, the first one included; replies = post_count - 1.
    post_count: Mapped[int] = mapped_column(default=0)
    pinned: Mapped[bool] = mapped_column(default=False)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL")
    )
    # The post that opened the thread (set by the service that opens it): feeds show it
    # without looking for the smallest post id of every thread.
    first_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL")
    )
    # Members affected: the author (who reported it) and every member who said "me too".
    affected_count: Mapped[int] = mapped_column(default=1, server_default="1")
    # The official incident this report is linked to (the table belongs to board.travaux,
    # which builds on the forum: the forum names it and never imports it).
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The Travaux service the report is about, if its author (or a moderator) said so.
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"))
    # The thread this one repeats (staff merged it there: its "affected" marks moved along).
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"))
    # Moves whenever what the thread's feed shows changes (feeds' ETag and Last-Modified).
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # The reply its author or staff marked as what solved the problem (a help board's
    # threads, board/forum/solutions.py); not `resolved_at`, which is a linked incident's.
    solution_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL"))

    board: Mapped[Board] = relationship(foreign_keys=[board_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    last_post: Mapped["Post | None"] = relationship(foreign_keys=[last_post_id])
    # What a board listing shows of the author and of the last post, read with the thread
    # there (board/forum/listing.py): thirty rows load no User and no Post. None elsewhere.
    author_name: Mapped[str | None] = query_expression()
    last_post_at: Mapped[datetime | None] = query_expression()
    last_poster_name: Mapped[str | None] = query_expression()
    duplicate_of: Mapped["Thread | None"] = relationship(
        foreign_keys=[duplicate_of_id], remote_side=[id])
    solution_post: Mapped["Post | None"] = relationship(foreign_keys=[solution_post_id])

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def reply_count(self) -> int:
        return max(self.post_count - 1, 0)


class Post(HideableMixin, db.Model):
    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_thread_created", "thread_id", "created_at", "id"),
                      # A member's posts, newest first (their profile).
                      Index("ix_posts_author_created", "author_id", "created_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Plain-text preview (board.markup.excerpt), kept with the HTML: mails and lists show it
    # without rendering the Markdown again.
    excerpt: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who edited it last; the post names them when they are not its author.
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    official: Mapped[bool] = mapped_column(default=False)

    thread: Mapped[Thread] = relationship(foreign_keys=[thread_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    edited_by: Mapped[User | None] = relationship(foreign_keys=[edited_by_id])


class Affected(db.Model):
    """One member's "me too" on a report."""

    __tablename__ = "affected"
    __table_args__ = (Index("ix_affected_recent", "created_at"),)

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class Watch(db.Model):
    """A member following a thread: new replies reach them as one mail per batch."""

    __tablename__ = "watches"

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # The newest post the member has been told about (or saw when they started watching).
    notified_post_id: Mapped[int | None]
    # Set while a digest mail is queued: replies arriving meanwhile join that mail.
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
