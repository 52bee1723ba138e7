"""Factories: rows built through the same services the application uses."""

import itertools

from board.accounts import services as accounts
from board.extensions import db
from board.forum import services as forum

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_user(role="member", confirmed=True, name=None, email=None, locale=None,
              password=PASSWORD):
    n = next(_seq)
    user = accounts.add_user(email or f"user{n}@example.org", name or f"User {n}", password,
                                role=role, confirmed=confirmed, locale=locale)
    db.session.commit()
    return user


def make_board(visibility="public", slug=None, name=None):
    n = next(_seq)
    board = forum.add_board(slug or f"board-{n}", name or f"Board {n}",
                               description=f"Description {n}", visibility=visibility)
    db.session.commit()
    return board


def make_thread(board=None, author=None, title=None, body="First post", replies=0):
    board = board or make_board()
    author = author or make_user()
    thread = forum.open_thread(board, author, title or f"Thread number {next(_seq)}", body)
    for i in range(replies):
        forum.reply(thread, author, f"Reply {i + 1}")
    return thread
