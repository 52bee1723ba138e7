"""The forum through HTTP: boards, threads, posting, editing, hiding, pagination."""

import re

import pytest
from sqlalchemy import func, select

from board.extensions import db
from board.forum.models import Board, Post, Thread
from tests.factories import make_board, make_thread, make_user


def text_of(response) -> str:
    # French typography puts no-break spaces before colons; compare plain text.
    return response.get_data(as_text=True).replace("\u00a0", " ")


def test_index_lists_public_boards_with_counts(client):
    board = make_board(name="Hébergement web")
    make_thread(board=board, title="Erreur 503 sur mon site", replies=2)
    page = text_of(client.get("/"))
    assert "Hébergement web" in page
    assert "Erreur 503 sur mon site" in page
    assert re.search(r'data-label="Sujets">1</td>', page)
    assert re.search(r'data-label="Messages">3</td>', page)


def test_staff_board_is_invisible_to_members_and_guests(client, login_as):
    board = make_board(visibility="staff", name="Coin de l'équipe")
    thread = make_thread(board=board, title="Suivi interne")
    assert "Coin de l&#39;équipe" not in text_of(client.get("/"))
    assert client.get(f"/boards/{board.slug}").status_code == 404
    assert client.get(f"/threads/{thread.id}").status_code == 404
    login_as("member")
    assert client.get(f"/threads/{thread.id}").status_code == 404
    client.logout()
    login_as("moderator")
    assert "Suivi interne" in text_of(client.get(f"/boards/{board.slug}"))


def test_member_opens_thread_and_replies(client, login_as):
    board = make_board()
    login_as(name="Sophie")
    response = client.form(f"/boards/{board.slug}/new",
                           {"title": "  Mails refusés par Gmail  ", "body": "Erreur **550**"})
    assert response.status_code == 302
    thread = db.session.scalar(select(Thread))
    assert thread.title == "Mails refusés par Gmail"
    assert response.headers["Location"] == f"/threads/{thread.id}/mails-refuses-par-gmail"
    response = client.form(f"/threads/{thread.id}/reply", {"body": "Même souci *ici*"})
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"], follow_redirects=True))
    assert "<strong>550</strong>" in page and "<em>ici</em>" in page
    assert "1 réponse" in page
    db.session.refresh(thread)
    assert thread.post_count == 2 and board.thread_count == 1


@pytest.mark.parametrize("data, message", [
    ({"title": "", "body": "Un message"}, "donner un titre"),
    ({"title": "   ", "body": "Un message"}, "donner un titre"),
    ({"title": "ab", "body": "Un message"}, "entre 3 et 150"),
    ({"title": "Un titre correct", "body": ""}, "écrire un message"),
    ({"title": "x" * 151, "body": "Un message"}, "entre 3 et 150"),
    ({"title": "Un titre correct", "body": "x" * 50_001}, "trop long"),
])
def test_bad_thread_input_gets_a_message_and_stores_nothing(client, login_as, data, message):
    board = make_board()
    login_as()
    response = client.form(f"/boards/{board.slug}/new", data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_missing_csrf_token_is_refused_and_stores_nothing(client, login_as):
    board = make_board()
    login_as()
    response = client.post(f"/boards/{board.slug}/new", data={"title": "Sans jeton",
                                                              "body": "Corps"})
    assert response.status_code == 400
    assert "formulaire a expiré" in text_of(response)
    assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_two_megabyte_body_gets_a_clean_413(client, login_as):
    thread = make_thread()
    login_as()
    response = client.form(f"/threads/{thread.id}/reply", {"body": "x" * 2_000_000})
    assert response.status_code == 413
    page = text_of(response)
    assert "Traceback" not in page and "trop volumineux" in page
    assert db.session.scalar(select(func.count(Post.id))) == 1


@pytest.mark.parametrize("path", ["/threads/999999", "/threads/999999/x", "/boards/nope",
                                  "/boards/..%2F..%2Fetc", "/posts/999999",
                                  "/threads/abc", "/posts/999999/edit"])
def test_unknown_addresses_get_a_clean_404(client, login_as, path):
    login_as()
    response = client.get(path)
    assert response.status_code == 404
    assert "Page introuvable" in text_of(response)


def test_wrong_thread_slug_redirects_to_the_canonical_address(client):
    thread = make_thread(title="Certificat non renouvelé")
    response = client.get(f"/threads/{thread.id}/old-title?page=1")
    assert response.status_code == 301
    assert response.headers["Location"] == \
        f"/threads/{thread.id}/certificat-non-renouvele?page=1"


def test_bad_page_number_is_a_404(client):
    thread = make_thread()
    assert client.get(f"/threads/{thread.id}/{thread.slug}?page=50").status_code == 404
    assert client.get(f"/threads/{thread.id}/{thread.slug}?page=-1").status_code == 404


def test_author_edits_own_post_and_it_is_marked_edited(client, login_as):
    author = login_as()
    thread = make_thread(author=author, title="Titre initial", body="Texte initial")
    post = db.session.scalar(select(Post))
    response = client.form(f"/posts/{post.id}/edit",
                           {"title": "Titre corrigé", "body": "Texte *corrigé*"})
    assert response.status_code == 302
    page = text_of(client.get(f"/threads/{thread.id}", follow_redirects=True))
    assert "Titre corrigé" in page and "<em>corrigé</em>" in page and "modifié" in page


def test_member_cannot_edit_someone_elses_post(client, login_as):
    thread = make_thread()
    login_as()
    post = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
    assert client.get(f"/posts/{post.id}/edit").status_code == 403
    assert client.form(f"/posts/{post.id}/edit", {"body": "pirate"}).status_code == 403
    assert db.session.get(Post, post.id).body_source == "First post"


def test_hiding_a_reply_keeps_counts_right(client, login_as):
    author = login_as()
    board = make_board()
    thread = make_thread(board=board, author=author, replies=2)
    last = db.session.scalar(select(Post).order_by(Post.id.desc()))
    assert client.form(f"/posts/{last.id}/hide").status_code == 302
    db.session.expire_all()
    thread, board = db.session.get(Thread, thread.id), db.session.get(Board, board.id)
    assert thread.post_count == 2 and board.post_count == 2
    assert thread.last_post_id != last.id
    assert "Reply 2" not in text_of(client.get(f"/threads/{thread.id}", follow_redirects=True))
    assert client.get(f"/posts/{last.id}").status_code == 404


def test_member_cannot_delete_a_first_post_that_has_replies(client, login_as):
    author = login_as()
    thread = make_thread(author=author)
    other = make_user()
    from board.forum import services

    services.reply(thread, other, "Une réponse")
    first = db.session.scalar(select(Post).order_by(Post.id))
    response = client.form(f"/posts/{first.id}/hide", follow_redirects=True)
    assert "modérateur" in text_of(response)
    assert db.session.get(Thread, thread.id).hidden_at is None


def test_locked_thread_refuses_member_replies(client, login_as):
    thread = make_thread()
    moderator = make_user(role="moderator")
    from board.forum import services

    services.lock(thread, moderator)
    login_as()
    page = text_of(client.get(f"/threads/{thread.id}", follow_redirects=True))
    assert "verrouillé" in page
    response = client.form(f"/threads/{thread.id}/reply", {"body": "Encore moi"},
                           follow_redirects=True)
    assert "verrouillé" in text_of(response)
    assert db.session.scalar(select(func.count(Post.id))) == 1


def test_board_page_paginates_pinned_first(client, app):
    board = make_board()
    author = make_user()
    threads = [make_thread(board=board, author=author, title=f"Sujet {i:02d}")
               for i in range(35)]
    from board.forum import services

    services.pin(threads[0], make_user(role="moderator"))
    first = text_of(client.get(f"/boards/{board.slug}"))
    assert first.index("Sujet 00") < first.index("Sujet 34")
    assert "Sujet 34" in first and "Sujet 04" not in first
    second = text_of(client.get(f"/boards/{board.slug}?page=2"))
    assert "Sujet 04" in second and 'rel="prev"' in second


def test_post_permalink_lands_on_its_page(client):
    make_thread(replies=25)
    last = db.session.scalar(select(Post).order_by(Post.id.desc()))
    response = client.get(f"/posts/{last.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"?page=2#post-{last.id}")


def test_official_flag_only_for_staff(client, login_as):
    thread = make_thread()
    login_as()
    client.form(f"/threads/{thread.id}/reply", {"body": "Je suis officiel", "official": "y"})
    assert db.session.scalar(select(Post.official).order_by(Post.id.desc())) is False
    client.logout()
    login_as("moderator")
    client.form(f"/threads/{thread.id}/reply", {"body": "Réponse de l'équipe", "official": "y"})
    assert db.session.scalar(select(Post.official).order_by(Post.id.desc())) is True
    assert "Réponse officielle" in text_of(client.get(f"/threads/{thread.id}",
                                                      follow_redirects=True))


def test_stored_html_is_sanitized_at_write_time(client, login_as):
    board = make_board()
    login_as()
    client.form(f"/boards/{board.slug}/new", {
        "title": "Essai", "body": "<script>alert(1)</script> [x](javascript:alert(1))"})
    post = db.session.scalar(select(Post))
    assert "<script" not in post.body_html and "<a" not in post.body_html
    # Written as text, shown as text: the link was never made.
    assert "&lt;script&gt;" in post.body_html and "[x](javascript:alert(1))" in post.body_html


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_dates_are_shown_in_paris_time(client):
    from datetime import UTC, datetime

    thread = make_thread()
    post = db.session.scalar(select(Post))
    post.created_at = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
    db.session.commit()
    page = text_of(client.get(f"/threads/{thread.id}", follow_redirects=True))
    assert "15 janv. 2026 13:30" in page


def test_control_characters_never_reach_a_title(client, login_as):
    board = make_board()
    login_as()
    client.form(f"/boards/{board.slug}/new", {"title": "Panne\x01 du\x0b serveur", "body": "Oui"})
    assert db.session.scalar(select(Thread.title)) == "Panne du serveur"


def test_stray_query_arguments_on_a_thread_are_no_500(client):
    thread = make_thread(title="Sujet")
    for query in ("slug=x", "thread_id=3", "_external=1", "page=2&slug=y"):
        response = client.get(f"/threads/{thread.id}?{query}")
        assert response.status_code == 301, query
        assert "slug" not in response.headers["Location"].split("?")[-1]
