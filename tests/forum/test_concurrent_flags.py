"""Many members flag one post at once: real connections (one app context and session per
thread) released together by a barrier. Every flag is counted, and the hide threshold is
crossed by one flag exactly: one automatic hiding, one audit row. PostgreSQL only, as in
test_concurrent_counters.py: SQLite writers take turns (one database lock)."""

import os

import pytest
from sqlalchemy import func, select

from board.accounts.models import User
from board.audit import AuditLog
from board.extensions import db
from board.forum import flags
from board.forum.flags import Flag
from board.forum.models import Board, Post, Thread
from tests.concurrency import run_together
from tests.factories import make_thread, make_user

FLAGGERS = int(os.environ.get("FLAGGERS", "12"))


@pytest.fixture(autouse=True)
def postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers (one database lock), and its "
                    "threads then fail with 'database is locked' rather than race")


def test_concurrent_flags_are_all_counted_and_hide_the_post_once(app):
    thread = make_thread(replies=1)
    post = db.session.scalar(select(Post).where(Post.thread_id == thread.id)
                             .order_by(Post.id.desc()))
    post_id, thread_id, board_id = post.id, thread.id, thread.board_id
    member_ids = [make_user().id for _ in range(FLAGGERS)]
    db.session.commit()

    def flag(n):
        return flags.flag_post(db.session.get(Post, post_id),
                               db.session.get(User, member_ids[n]), "spam")

    hid = run_together(app, FLAGGERS, flag)

    db.session.expire_all()
    count = db.session.scalar(select(func.count(Flag.id)).where(Flag.post_id == post_id))
    hidings = db.session.scalars(select(AuditLog).where(AuditLog.action == "flag.auto_hide")).all()
    print(f"flags {count}, hid {hid.count(True)}, audit rows {len(hidings)}")
    assert count == FLAGGERS
    assert hid.count(True) == 1
    assert len(hidings) == 1 and hidings[0].details["flags"] == app.config["FLAG_HIDE_THRESHOLD"]
    post = db.session.get(Post, post_id)
    assert post.hidden_at is not None and post.hidden_by_id is None
    assert db.session.get(Thread, thread_id).post_count == 1
    assert db.session.get(Board, board_id).post_count == 1


def test_one_member_flagging_twice_at_once_gets_one_flag(app):
    thread = make_thread()
    post_id = thread.first_post_id
    member_id = make_user().id
    db.session.commit()

    def flag(n):
        try:
            flags.flag_post(db.session.get(Post, post_id), db.session.get(User, member_id),
                            "abuse")
        except flags.FlagError as error:
            return str(error)
        return "flagged"

    outcomes = run_together(app, 4, flag)
    assert sorted(outcomes) == ["again", "again", "again", "flagged"]
    assert db.session.scalar(select(func.count(Flag.id))) == 1
