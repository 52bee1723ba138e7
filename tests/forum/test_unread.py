"""Unread tracking: a member's board pages show the threads new to them and the count of
messages they have not read, whose link opens the first of them; reading a page moves the mark
(never back); "Tout marquer comme lu" per board and for the whole forum; guests see none of it
and their pages stay the cached ones."""

import re
from datetime import timedelta

from sqlalchemy import select

from board.clock import travel
from board.extensions import db
from board.forum import reading
from board.forum import services as forum
from board.forum.models import Post
from board.forum.reading import BoardRead, ThreadRead
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user
from tests.forum.pages import board_html, row_of


def last_read(user, thread) -> int | None:
    db.session.expire_all()
    row = db.session.get(ThreadRead, (user.id, thread.id))
    return row.last_read_post_id if row else None


def post_ids(thread) -> list[int]:
    return list(db.session.scalars(select(Post.id).where(Post.thread_id == thread.id)
                                   .order_by(Post.id)))


def test_a_thread_opened_since_the_member_came_is_new_until_read(client):
    reader, author = make_user(), make_user()
    board = make_board()
    thread = make_thread(board=board, author=author, title="Un sujet tout neuf")
    client.login(reader.email)
    row = row_of(board_html(client, board), "Un sujet tout neuf")
    assert "Nouveau" in row

    client.get(f"/threads/{thread.id}/{thread.slug}")
    assert last_read(reader, thread) == thread.first_post_id
    assert "Nouveau" not in row_of(board_html(client, board), "Un sujet tout neuf")


def test_new_replies_are_counted_and_the_link_opens_the_first_unread(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 3)
    reader, author = make_user(), make_user()
    board = make_board()
    thread = make_thread(board=board, author=author, title="Panne web", replies=3)
    client.login(reader.email)
    client.get(f"/threads/{thread.id}/{thread.slug}")  # page 1: the first 3 posts
    assert last_read(reader, thread) == post_ids(thread)[2]

    forum.reply(thread, author, "Encore une")
    forum.reply(thread, reader, "Ma propre réponse ne compte pas")
    row = row_of(board_html(client, board), "Panne web")
    assert "2 nouveaux messages" in row  # the 4th post and the 5th, not mine
    link = re.search(r'href="([^"]+)"[^>]*>2 nouveaux messages', row).group(1)
    assert link == f"/threads/{thread.id}/unread"
    response = client.get(link)
    fourth = post_ids(thread)[3]
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/threads/{thread.id}/{thread.slug}?page=2#post-{fourth}")

    client.get(f"/threads/{thread.id}/{thread.slug}?page=2")
    assert "nouveau" not in row_of(board_html(client, board), "Panne web")
    # All read: the link opens the last post.
    response = client.get(f"/threads/{thread.id}/unread")
    assert response.headers["Location"].endswith(f"/posts/{post_ids(thread)[-1]}")


def test_the_mark_never_moves_back(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    reader = make_user()
    thread = make_thread(replies=4)
    client.login(reader.email)
    client.get(f"/threads/{thread.id}/{thread.slug}?page=3")
    assert last_read(reader, thread) == post_ids(thread)[4]
    client.get(f"/threads/{thread.id}/{thread.slug}")
    assert last_read(reader, thread) == post_ids(thread)[4]


def test_hidden_replies_are_not_counted_for_members(client):
    reader, author, moderator = make_user(), make_user(), make_user(role="moderator")
    board = make_board()
    thread = make_thread(board=board, author=author, title="Spam en vue")
    client.login(reader.email)
    client.get(f"/threads/{thread.id}/{thread.slug}")
    spam = forum.reply(thread, author, "Achetez !")
    forum.hide_post(spam, moderator)
    assert "nouveau" not in row_of(board_html(client, board), "Spam en vue")


def test_mark_board_read_is_one_row_and_clears_its_threads(client):
    reader, author = make_user(), make_user()
    board, other = make_board(), make_board()
    for n in range(3):
        make_thread(board=board, author=author, title=f"Sujet {n}")
    elsewhere = make_thread(board=other, author=author, title="Ailleurs")
    client.login(reader.email)
    assert board_html(client, board).count("badge-new") == 3

    assert client.post(f"/boards/{board.slug}/read").status_code == 400  # no CSRF token
    response = client.form(f"/boards/{board.slug}/read", follow_redirects=True)
    assert "Tous les sujets de" in response.get_data(as_text=True)
    assert "badge-new" not in board_html(client, board)
    assert db.session.scalars(select(BoardRead)).all()[0].board_id == board.id
    assert len(db.session.scalars(select(BoardRead)).all()) == 1
    assert "Nouveau" in row_of(board_html(client, other), "Ailleurs")

    # Later replies are new again, counted from the mark.
    with travel(timedelta(seconds=5)):
        forum.reply(db.session.merge(elsewhere), author, "x")
        first = db.session.scalars(select(Post).join(Post.thread)
                                   .where(Post.thread.has(title="Sujet 0"))).first()
        forum.reply(first.thread, author, "Du nouveau")
    assert "1 nouveau message" in row_of(board_html(client, board), "Sujet 0")


def test_mark_everything_read_covers_every_board(client):
    reader, author = make_user(), make_user()
    boards = [make_board(), make_board()]
    for board in boards:
        make_thread(board=board, author=author)
    client.login(reader.email)
    index = client.get("/").get_data(as_text=True)
    assert "Tout marquer comme lu" in index
    client.form("/read")
    client.form("/read")  # twice is one row
    assert [(r.user_id, r.board_id) for r in db.session.scalars(select(BoardRead))] == [
        (reader.id, None)]
    for board in boards:
        assert "badge-new" not in board_html(client, board)


def test_guests_see_nothing_of_it_and_get_the_same_cached_page(client):
    author = make_user()
    board = make_board()
    thread = make_thread(board=board, author=author, title="Public", replies=2)
    first = client.get(f"/boards/{board.slug}")
    html = first.get_data(as_text=True)
    assert "badge-new" not in html and "Tout marquer" not in html and "nouveau" not in html
    assert "public" in first.headers["Cache-Control"]
    again = client.get(f"/boards/{board.slug}")
    assert again.get_data(as_text=True) == html
    client.get(f"/threads/{thread.id}/{thread.slug}")
    assert db.session.scalars(select(ThreadRead)).all() == []
    assert client.post("/read").status_code in (302, 400)
    assert db.session.scalars(select(BoardRead)).all() == []
    # The jump link sends a guest to the thread.
    assert client.get(f"/threads/{thread.id}/unread").headers["Location"].endswith(
        f"/threads/{thread.id}/{thread.slug}")


def test_staff_threads_stay_hidden_from_the_jump_link(client):
    member = make_user()
    thread = make_thread(board=make_board(visibility="staff"))
    client.login(member.email)
    assert client.get(f"/threads/{thread.id}/unread").status_code == 404
    assert client.form("/boards/" + thread.board.slug + "/read").status_code == 404


def test_page_marks_is_one_query_for_a_page(app):
    reader, author = make_user(), make_user()
    board = make_board()
    threads = [make_thread(board=board, author=author, replies=2) for _ in range(5)]
    _ = reader.created_at, [(t.id, t.author_id) for t in threads]  # loaded outside the count
    with count_queries() as statements:
        marks = reading.page_marks(reader, threads)
    assert len(statements) == 1
    assert all(marks[t.id].new_thread for t in threads)
