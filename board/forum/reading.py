"""What a member has read: per thread the last post they read, and per board (or for the whole
forum) the moment they marked everything read.

A thread page seen moves the member's mark of that thread up to the last post the page showed:
one upsert, which never moves it back, and which two pages loading at once cannot break (ON
CONFLICT, on PostgreSQL and SQLite alike). Everything posted before a member's watermark (their
latest "mark all read" of the board or of the forum, or else their registration) counts as
read, so that "Tout marquer comme lu" writes one row, not one per thread. A board page asks
`page_marks` once for every thread it lists; guests have no marks and cost nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, and_, func, literal, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column

from board.clock import now
from board.extensions import db
from board.forum.models import Board, Post, Thread
from board.types import UTCDateTime, postgresql_options
from board.visibility import visible_posts


class ThreadRead(db.Model):  # type: ignore[name-defined]  # db.Model: no type mypy follows
    """The last post a member read in a thread (by id: posts only ever get larger ids)."""

    __tablename__ = "thread_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"),
                                           primary_key=True)
    last_read_post_id: Mapped[int]
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class BoardRead(db.Model):  # type: ignore[name-defined]
    """A member's "mark all read" of one board, or of every board (no board)."""

    __tablename__ = "board_reads"
    # One row per member and board, and one per member for the whole forum: ON CONFLICT names
    # one of these two partial indexes.
    __table_args__ = (
        postgresql_options(Index("uq_board_reads_board", "user_id", "board_id", unique=True,
                                 sqlite_where=text("board_id IS NOT NULL")),
                           where=text("board_id IS NOT NULL")),
        postgresql_options(Index("uq_board_reads_all", "user_id", unique=True,
                                 sqlite_where=text("board_id IS NULL")),
                           where=text("board_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


def _upsert(model):
    # Imported here: an application on SQLite never loads the PostgreSQL dialect (2 MB).
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(model)


# Writing ------------------------------------------------------------------------------------

def mark_read(user, thread: Thread, post_id: int | None) -> None:
    """`user` has read `thread` up to `post_id` (the last post of the page they saw); a mark
    never moves back. One statement. Commits."""
    if post_id is None or not user.is_authenticated:
        return
    moment = now()
    stmt = _upsert(ThreadRead).values(user_id=user.id, thread_id=thread.id,
                                      last_read_post_id=post_id, read_at=moment)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=[ThreadRead.user_id, ThreadRead.thread_id],
        set_={"last_read_post_id": post_id, "read_at": moment},
        where=ThreadRead.last_read_post_id < post_id))
    db.session.commit()


def mark_all_read(user, board: Board | None = None) -> None:
    """Everything of `board` (of every board when None) posted until now counts as read by
    `user`: one row, whatever the number of threads. Commits."""
    moment = now()
    stmt = _upsert(BoardRead).values(user_id=user.id, board_id=board.id if board else None,
                                     read_at=moment)
    if board is None:
        target = {"index_elements": [BoardRead.user_id],
                  "index_where": BoardRead.board_id.is_(None)}
    else:
        target = {"index_elements": [BoardRead.user_id, BoardRead.board_id],
                  "index_where": BoardRead.board_id.is_not(None)}
    db.session.execute(stmt.on_conflict_do_update(**target, set_={"read_at": moment}))
    db.session.commit()


# Reading ------------------------------------------------------------------------------------

@dataclass
class Mark:
    """What a listing says of one thread for its reader."""

    new_thread: bool  # created since their watermark and never opened
    new_posts: int    # posts by others they have not read (0 for a new thread: all are)


def _watermark(user, board_id):
    """The SQL moment before which everything of the board counts as read by `user`: their
    latest "mark all read" of it or of the forum, else their registration."""
    latest = select(func.max(BoardRead.read_at)).where(
        BoardRead.user_id == user.id,
        or_(BoardRead.board_id == board_id, BoardRead.board_id.is_(None))).scalar_subquery()
    return func.coalesce(latest, literal(user.created_at, UTCDateTime()))


def page_marks(user, threads: list[Thread]) -> dict[int, Mark]:
    """The marks of every thread of a listing page, in one query (none for a guest or an
    empty page): only threads with something new have one."""
    if not user.is_authenticated or not threads:
        return {}
    watermark = _watermark(user, Thread.board_id)
    read = ThreadRead.last_read_post_id
    new_posts = visible_posts(
        select(func.count(Post.id)).where(
            Post.thread_id == Thread.id, Post.author_id != user.id,
            Post.id > func.coalesce(read, 0), Post.created_at > watermark), user
    ).correlate(Thread, ThreadRead).scalar_subquery()
    rows = db.session.execute(
        select(Thread.id, read, Thread.created_at > watermark, new_posts)
        .outerjoin(ThreadRead, and_(ThreadRead.thread_id == Thread.id,
                                    ThreadRead.user_id == user.id))
        .where(Thread.id.in_([t.id for t in threads])))
    marks = {}
    by_id = {t.id: t for t in threads}
    for thread_id, last_read, created_since, count in rows:
        fresh = last_read is None and bool(created_since) \
            and by_id[thread_id].author_id != user.id
        if fresh or count:
            marks[thread_id] = Mark(new_thread=fresh, new_posts=0 if fresh else count)
    return marks


def first_unread(user, thread: Thread) -> Post | None:
    """The first post of `thread` that `user` has not read and may see, or None."""
    read = select(ThreadRead.last_read_post_id).where(
        ThreadRead.user_id == user.id, ThreadRead.thread_id == thread.id).scalar_subquery()
    return db.session.scalar(visible_posts(
        select(Post).where(Post.thread_id == thread.id, Post.id > func.coalesce(read, 0),
                           Post.created_at > _watermark(user, thread.board_id))
        .order_by(Post.created_at, Post.id).limit(1), user))


def unread_by(user, thread: Thread):
    """The SQL condition "`user` has not read this post of `thread` in the site" (the watch
    digest leaves the others out)."""
    read = select(ThreadRead.last_read_post_id).where(
        ThreadRead.user_id == user.id, ThreadRead.thread_id == thread.id).scalar_subquery()
    return and_(Post.id > func.coalesce(read, 0),
                Post.created_at > _watermark(user, thread.board_id))
