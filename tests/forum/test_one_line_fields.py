"""Titles and board names stay on one line whatever is pasted into them: a CR/LF or a TAB is
a space, other control characters are gone. A title with a line break once made every mail
that carried it in a header fail, for every recipient, until the outbox gave up."""

from sqlalchemy import select

from board.extensions import db
from board.forum.models import Board, Post, Thread
from tests.factories import make_board

PASTED = "Panne\r\nBcc: victime@example.org\tdu serveur\u202e 12"
CLEAN = "Panne Bcc: victime@example.org du serveur 12"


def test_a_new_thread_s_title_is_kept_on_one_line(client, login_as):
    board = make_board()
    login_as()
    response = client.form(f"/boards/{board.slug}/new", {"title": PASTED, "body": "Oui"})
    assert response.status_code == 302, response.data[:500]
    assert db.session.scalar(select(Thread.title)) == CLEAN


def test_an_edited_title_is_kept_on_one_line(client, login_as):
    board = make_board()
    login_as()
    client.form(f"/boards/{board.slug}/new", {"title": "Panne du serveur", "body": "Oui"})
    post = db.session.scalar(select(Post))
    response = client.form(f"/posts/{post.id}/edit", {"title": PASTED, "body": "Oui"})
    assert response.status_code == 302, response.data[:500]
    db.session.expire_all()
    assert db.session.scalar(select(Thread.title)) == CLEAN


def test_a_board_s_name_and_address_are_kept_on_one_line(client, login_as):
    login_as("admin")
    response = client.form("/admin/boards/new", {
        "name": "Bases\r\nde\tdonnées", "slug": "bases-de-donnees\n", "description": "MySQL",
        "position": "4", "visibility": "public"})
    assert response.status_code == 302, response.data[:500]
    board = db.session.scalar(select(Board))
    assert (board.name, board.slug) == ("Bases de données", "bases-de-donnees")
