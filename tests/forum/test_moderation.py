"""Moderation: lock, pin, move, hide, and the audit log of each action."""

from sqlalchemy import select

from board.audit import AuditLog
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Board, Post, Thread
from tests.factories import make_board, make_thread, make_user


def test_moderator_actions_are_applied_and_logged(client, login_as):
    thread = make_thread()
    moderator = login_as("moderator")
    for action in ("lock", "pin", "unpin", "unlock", "hide", "unhide"):
        assert client.form(f"/threads/{thread.id}/{action}").status_code == 302
    db.session.expire_all()
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["thread.lock", "thread.pin", "thread.unpin", "thread.unlock",
                       "thread.hide", "thread.unhide"]
    assert {e.actor_id for e in db.session.scalars(select(AuditLog))} == {moderator.id}
    log = client.get("/moderation").get_data(as_text=True)
    assert "thread.hide" in log and moderator.name in log


def test_moving_a_thread_moves_the_counts(client, login_as):
    source, target = make_board(), make_board()
    thread = make_thread(board=source, replies=3)
    make_thread(board=source)
    login_as("moderator")
    response = client.form(f"/threads/{thread.id}/move", {"board": target.id})
    assert response.status_code == 302
    db.session.expire_all()
    source, target = db.session.get(Board, source.id), db.session.get(Board, target.id)
    assert (source.thread_count, source.post_count) == (1, 1)
    assert (target.thread_count, target.post_count) == (1, 4)
    assert target.last_post_id == db.session.get(Thread, thread.id).last_post_id
    entry = db.session.scalar(select(AuditLog))
    assert entry.action == "thread.move" and entry.details["target"] == target.slug


def test_hidden_thread_leaves_listing_and_counts(client, login_as):
    board = make_board()
    thread = make_thread(board=board, title="Sujet à masquer", replies=1)
    login_as("moderator")
    client.form(f"/threads/{thread.id}/hide")
    client.logout()
    db.session.expire_all()
    board = db.session.get(Board, board.id)
    assert (board.thread_count, board.post_count, board.last_post_id) == (0, 0, None)
    assert "Sujet à masquer" not in client.get(f"/boards/{board.slug}").get_data(as_text=True)
    assert client.get(f"/threads/{thread.id}").status_code == 404


def test_moderator_hides_and_shows_a_post(client, login_as):
    thread = make_thread(replies=1)
    reply = db.session.scalar(select(Post).order_by(Post.id.desc()))
    moderator = login_as("moderator")
    client.form(f"/posts/{reply.id}/hide")
    db.session.expire_all()
    assert db.session.get(Post, reply.id).hidden_by_id == moderator.id
    # Staff still see it, marked as hidden.
    page = client.get(f"/threads/{thread.id}", follow_redirects=True).get_data(as_text=True)
    assert f'id="post-{reply.id}"' in page and "hidden-item" in page
    client.form(f"/posts/{reply.id}/unhide")
    db.session.expire_all()
    assert db.session.get(Post, reply.id).hidden_at is None
    assert db.session.get(Thread, thread.id).post_count == 2
    assert [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))] == \
        ["post.hide", "post.unhide"]


def test_hiding_first_post_hides_the_thread(client, login_as):
    author = login_as()
    board = make_board()
    thread = make_thread(board=board, author=author)
    first = db.session.scalar(select(Post))
    client.form(f"/posts/{first.id}/hide")
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).hidden_at is not None
    assert db.session.get(Board, board.id).thread_count == 0


def test_moderator_edit_of_someone_elses_post_is_logged(client, login_as):
    thread = make_thread()
    post = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
    login_as("moderator")
    client.form(f"/posts/{post.id}/edit", {"title": thread.title, "body": "Lien retiré"})
    entry = db.session.scalar(select(AuditLog))
    assert entry.action == "post.edit" and entry.target_id == post.id


def test_author_hiding_own_reply_is_not_a_staff_action(client, login_as):
    author = login_as()
    make_thread(author=author, replies=1)
    reply = db.session.scalar(select(Post).order_by(Post.id.desc()))
    client.form(f"/posts/{reply.id}/hide")
    assert db.session.scalar(select(AuditLog)) is None
    # The reply is hidden all the same, by its author.
    assert db.session.get(Post, reply.id).hidden_by_id == author.id


def test_showing_a_thread_again_shows_its_first_post_and_feeds_follow(client):
    moderator = make_user(role="moderator")
    thread = make_thread(title="Premier message masqué", body="Texte d'origine")
    first = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
    forum.hide_post(first, moderator)  # hides the whole thread
    assert "Premier message masqué" not in client.get("/feed.rss").get_data(as_text=True)
    forum.hide_thread(thread, moderator, hidden=False)
    db.session.refresh(first)
    assert first.hidden_at is None and thread.post_count == 1
    feed = client.get("/feed.rss").get_data(as_text=True)
    assert "Premier message masqué" in feed and "origine" in feed
