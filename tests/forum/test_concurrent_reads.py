"""Read marks under real concurrency (PostgreSQL: SQLite writers take turns): many pages of
one member loading at once, in any order, leave the mark at the furthest post read, one row;
many "mark all read" at once leave one row."""

import pytest
from sqlalchemy import select

from board.accounts.models import User
from board.extensions import db
from board.forum import reading
from board.forum.models import Board, Post, Thread
from board.forum.reading import BoardRead, ThreadRead
from tests.concurrency import run_together
from tests.factories import make_board, make_thread, make_user

READERS = 12


@pytest.fixture(autouse=True)
def postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers (one database lock)")


def test_concurrent_marks_keep_the_furthest_post(app):
    user = make_user()
    thread = make_thread(replies=READERS)
    post_ids = db.session.scalars(select(Post.id).where(Post.thread_id == thread.id)
                                  .order_by(Post.id)).all()
    user_id, thread_id = user.id, thread.id
    db.session.commit()

    def read(n):
        # Pages seen in a shuffled order: every one a different last post.
        for post_id in (post_ids[(n * 5 + i) % len(post_ids)] for i in range(5)):
            reading.mark_read(db.session.get(User, user_id), db.session.get(Thread, thread_id),
                              post_id)

    run_together(app, READERS, read)
    db.session.expire_all()
    rows = db.session.scalars(select(ThreadRead)).all()
    assert [(r.user_id, r.thread_id, r.last_read_post_id) for r in rows] == [
        (user_id, thread_id, max(post_ids))]


def test_concurrent_mark_all_read_is_one_row_per_scope(app):
    user = make_user()
    board_id, user_id = make_board().id, user.id
    db.session.commit()

    def mark(n):
        board = db.session.get(Board, board_id) if n % 2 else None
        reading.mark_all_read(db.session.get(User, user_id), board)

    run_together(app, READERS, mark)
    db.session.expire_all()
    assert sorted((r.user_id, r.board_id or 0) for r in db.session.scalars(
        select(BoardRead))) == [(user_id, 0), (user_id, board_id)]
