"""Counters stay exact when many members write at once: real connections (one app context and
session per thread) released together by a barrier, then the stored counters compared with a
recount from the rows. PostgreSQL only: SQLite writers take turns (one database lock), so the
counts hold there anyway, and under load its threads fail with "database is locked" (a reader
that wants to write while another writes gets SQLITE_BUSY at once, busy timeout or not)."""

import os

import pytest
from sqlalchemy import func, select

from board.accounts.models import User
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Affected, Board, Post, Thread
from tests.concurrency import run_together
from tests.factories import make_board, make_thread, make_user

# The suite's size; COUNTER_WRITERS=50 COUNTER_CLICKERS=50 replays the audit's 50 x 20.
WRITERS = int(os.environ.get("COUNTER_WRITERS", "10"))
REPLIES = int(os.environ.get("COUNTER_REPLIES", "20"))
CLICKERS = int(os.environ.get("COUNTER_CLICKERS", "30"))


@pytest.fixture(autouse=True)
def postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers (one database lock), and its "
                    "threads then fail with 'database is locked' rather than race")


def test_concurrent_replies_keep_thread_and_board_counts_exact(app):
    # Two threads of one board: writers race on each thread's row and on the board's.
    board = make_board()
    thread_ids = [make_thread(board=board).id for _ in range(2)]
    writer_ids = [make_user().id for _ in range(WRITERS)]
    db.session.commit()

    def write(n):
        author = db.session.get(User, writer_ids[n])
        for i in range(REPLIES):
            thread = db.session.get(Thread, thread_ids[n % 2])
            forum.reply(thread, author, f"Reply {i} by {n}")

    run_together(app, WRITERS, write)

    db.session.expire_all()
    counted = dict(db.session.execute(select(Post.thread_id, func.count(Post.id))
                                      .group_by(Post.thread_id)).all())
    stored = {t: db.session.get(Thread, t).post_count for t in thread_ids}
    board = db.session.get(Board, board.id)
    print(f"posts {counted}, threads' post_count {stored}, "
          f"board.post_count {board.post_count} for {sum(counted.values())}")
    assert sum(counted.values()) == 2 + WRITERS * REPLIES
    assert stored == counted
    assert board.post_count == sum(counted.values())
    assert board.last_post_id == db.session.scalar(select(func.max(Post.id)))


def test_concurrent_affected_clicks_are_all_counted(app):
    thread = make_thread()
    clickers = [make_user() for _ in range(CLICKERS)]
    thread_id, clicker_ids = thread.id, [c.id for c in clickers]
    db.session.commit()

    def click(n):
        forum.mark_affected(db.session.get(Thread, thread_id), db.session.get(User, clicker_ids[n]))

    run_together(app, CLICKERS, click)

    db.session.expire_all()
    rows = db.session.scalar(select(func.count()).select_from(Affected)
                             .where(Affected.thread_id == thread_id))
    stored = db.session.get(Thread, thread_id).affected_count
    print(f"affected rows {rows}, affected_count {stored}")
    assert rows == CLICKERS
    assert stored == rows + 1  # and the author

