"""Deleting one's own post asks first (a page that works without JavaScript); a moderator's
"Hide" stays one click, and its message says how to undo it."""

from board.extensions import db
from board.forum.models import Post
from tests.factories import make_thread, make_user


def hidden(post_id) -> bool:
    db.session.expire_all()
    return db.session.get(Post, post_id).hidden_at is not None


def test_delete_is_a_link_to_a_confirmation_page(client, login_as):
    member = login_as()
    thread = make_thread(replies=1)
    reply_text = "Mon message à moi, avec **du gras**."
    client.form(f"/threads/{thread.id}/reply", {"body": reply_text})
    mine = db.session.scalar(db.select(Post).where(Post.author_id == member.id))

    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert f'<a href="/posts/{mine.id}/delete">Supprimer</a>' in page
    assert f'action="/posts/{mine.id}/hide"' not in page  # no one-click delete

    confirm = client.get(f"/posts/{mine.id}/delete")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "Supprimer ce message ?" in text
    assert "Mon message à moi, avec du gras." in text  # its excerpt
    assert f'<form method="post" action="/posts/{mine.id}/hide"' in text
    assert not hidden(mine.id)  # asking deletes nothing

    response = client.form(f"/posts/{mine.id}/hide", follow_redirects=True)
    assert "Votre message est supprimé." in response.get_data(as_text=True)
    assert hidden(mine.id)


def test_only_the_author_gets_the_confirmation_page(client, login_as):
    post_id = make_thread().last_post_id
    login_as()
    assert client.get(f"/posts/{post_id}/delete").status_code == 403
    client.logout()
    assert client.get(f"/posts/{post_id}/delete").status_code == 302  # to the login page


def test_a_first_post_with_replies_says_why_it_cannot_be_deleted(client):
    author = make_user()
    thread = make_thread(author=author, replies=2)
    first = db.session.scalar(db.select(db.func.min(Post.id)).where(Post.thread_id == thread.id))
    client.login(author.email)
    text = client.get(f"/posts/{first}/delete").get_data(as_text=True)
    assert "demandez à un modérateur de le retirer" in text
    assert f'action="/posts/{first}/hide"' not in text


def test_a_moderator_hides_in_one_click_and_is_told_how_to_undo(client, login_as):
    reply_id = make_thread(replies=1).last_post_id
    login_as("moderator")
    response = client.form(f"/posts/{reply_id}/hide", follow_redirects=True)
    assert "Pour annuler, utilisez « Réafficher » sur le message." in response.get_data(
        as_text=True)
    assert hidden(reply_id)
