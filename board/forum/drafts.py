"""Drafts: what a member was writing, kept on the server while they type, so that a closed tab,
a lost connection or another computer gives it back.

A member has one draft per thread for a reply, and one per board for a new thread (its title
and message): the new-thread form of a board gives back what was begun in that board. A draft
is written as one types (static/drafts.js) and when the page is left, given back in the form
when the member returns (in the page itself: no JavaScript needed then), and dropped when the
post is published or the member deletes it. An empty draft is no draft. Guests have none.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.forum.models import Board, Thread
from board.types import UTCDateTime


class Draft(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    __tablename__ = "drafts"
    # One per (member, thread) and one per (member, board): each place has its own unique
    # index, which the upsert names (NULLs never collide, so a reply draft's NULL board does
    # not meet another's).
    __table_args__ = (
        Index("uq_drafts_reply", "user_id", "thread_id", unique=True),
        Index("uq_drafts_new_thread", "user_id", "board_id", unique=True),
        CheckConstraint("(thread_id IS NULL) <> (board_id IS NULL)", name="one_place"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # A reply to this thread...
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    # ...or a new thread in this board.
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(150), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


def _place(thread: Thread | None, board: Board | None) -> dict:
    if thread is not None and board is None:
        return {"thread_id": thread.id}
    if board is not None and thread is None:
        return {"board_id": board.id}
    raise ValueError("a draft is for a thread or for a board")


def draft_for(user: User, *, thread: Thread | None = None,
              board: Board | None = None) -> Draft | None:
    """`user`'s draft of a reply to `thread`, or of a new thread in `board` (1 query)."""
    if not user.is_authenticated:
        return None
    place = _place(thread, board)
    return db.session.scalar(select(Draft).filter_by(user_id=user.id, **place))


def restored(form, user: User, *, thread: Thread | None = None, board: Board | None = None):
    """`form` with `user`'s draft in it, if they have one (its title too, for a new thread);
    the draft goes along as `form.draft` for the page to say when it was saved."""
    form.draft = draft_for(user, thread=thread, board=board)
    if form.draft is not None:
        form.body.data = form.draft.body
        if board is not None and "title" in form:
            form.title.data = form.draft.title
    return form


def save_draft(user: User, body: str, title: str = "", *, thread: Thread | None = None,
               board: Board | None = None) -> Draft | None:
    """Keep what `user` is writing (an empty text drops the draft). Two saves at once (a
    keystroke's and the page being left) end as one row, the later one. Returns the draft, or
    None when there is none now. Commits."""
    place = _place(thread, board)
    if not body.strip() and not title.strip():
        drop_draft(user, thread=thread, board=board)
        db.session.commit()
        return None
    moment = now()
    values = {"user_id": user.id, "title": title, "body": body, "saved_at": moment, **place}
    connection = db.session.connection()
    # Imported here: an application on SQLite never loads the PostgreSQL dialect (2 MB).
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    key = [Draft.user_id, Draft.thread_id if thread is not None else Draft.board_id]
    db.session.execute(upsert(Draft).values(**values).on_conflict_do_update(
        index_elements=key, set_={"title": title, "body": body, "saved_at": moment}))
    db.session.commit()
    return draft_for(user, thread=thread, board=board)


def drop_draft(user: User, *, thread: Thread | None = None, board: Board | None = None) -> None:
    """Forget `user`'s draft for `thread` or `board`, in the caller's transaction (publishing
    the reply or the thread drops its draft with it)."""
    db.session.execute(delete(Draft).filter_by(user_id=user.id, **_place(thread, board)))
