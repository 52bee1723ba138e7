"""A board listing's rows, kept drawn for what they show (board/forum/rows.py): a page made of
kept rows is the page drawn afresh, and whatever a row shows, once changed, is on the next
page at once. Members are the readers here: the guest cache never keeps their pages, so what
they see is the rows themselves."""

import re
from datetime import timedelta

from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from tests.factories import make_board, make_thread, make_user
from tests.forum.pages import board_html, row_of

CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')


def without_tokens(html: str) -> str:
    """The page with its CSRF tokens blanked: a token is signed with the second it was made,
    so two requests a second apart differ there and nowhere else."""
    return CSRF_VALUE.sub(r'\1"', html)


def test_a_page_of_kept_rows_is_the_page_drawn_afresh(client, app):
    staff, author = make_user(role="moderator"), make_user(name="Camille")
    board = make_board()
    plain = make_thread(board=board, author=author, title="Sujet simple", replies=2)
    pinned = make_thread(board=board, author=author, title="Sujet épinglé")
    forum.pin(pinned, staff)
    locked = make_thread(board=board, author=author, title="Sujet verrouillé")
    forum.lock(locked, staff)
    hidden = make_thread(board=board, author=author, title="Sujet masqué")
    forum.hide_thread(hidden, staff)
    db.session.commit()
    client.login(staff.email)
    rows = app.extensions["board_rows"]
    rows.clear()

    with travel(timedelta(days=2)):  # the same dates at both requests
        drawn = board_html(client, board)
        assert len(rows.entries) == 4  # every row kept, once
        kept = board_html(client, board)
    assert without_tokens(kept) == without_tokens(drawn)
    assert len(rows.entries) == 4
    assert "Épinglé" in row_of(kept, "Sujet épinglé")
    assert "Verrouillé" in row_of(kept, "Sujet verrouillé")
    assert "Masqué" in row_of(kept, "Sujet masqué")
    assert "par Camille" in row_of(kept, plain.title)


def test_what_a_row_shows_is_on_the_next_page_once_changed(client):
    reader, author, staff = make_user(), make_user(name="Dominique"), make_user(role="admin")
    board = make_board()
    thread = make_thread(board=board, author=author, title="Messagerie lente")
    client.login(reader.email)
    with travel(timedelta(days=2)):  # its dates read "il y a 2 jours" at every request here
        row = row_of(board_html(client, board), "Messagerie lente")
        assert "par Dominique" in row and "Verrouillé" not in row

        author.name = "Dominique B."  # the author renamed: no thread changed
        db.session.commit()
        assert "par Dominique B." in row_of(board_html(client, board), "Messagerie lente")

    forum.reply(thread, staff, "Nous regardons.")
    forum.lock(thread, staff)
    row = row_of(board_html(client, board), "Messagerie lente")
    assert "Verrouillé" in row
    assert re.search(r'data-label="Réponses">1<', row)
    assert f"par {staff.name}</span>" in row

    thread.title = "Messagerie très lente"
    db.session.commit()
    assert "Messagerie très lente" in board_html(client, board)


def test_a_rows_relative_date_moves_with_the_clock(client):
    reader = make_user()
    board = make_board()
    make_thread(board=board, title="Un souci ce matin")
    client.login(reader.email)
    board_html(client, board)
    with travel(timedelta(minutes=5)):
        assert "il y a 5 minutes" in row_of(board_html(client, board), "Un souci ce matin")
    with travel(timedelta(hours=3)):
        assert "il y a 3 heures" in row_of(board_html(client, board), "Un souci ce matin")


def test_two_languages_never_share_a_row(client):
    reader, author = make_user(), make_user(name="Alix")
    board = make_board()
    make_thread(board=board, author=author, title="Sauvegardes")
    client.login(reader.email)
    assert "par Alix" in row_of(board_html(client, board), "Sauvegardes")
    client.set_cookie("locale", "en")
    row = row_of(board_html(client, board), "Sauvegardes")
    assert "by Alix" in row and "par Alix" not in row


def test_a_members_marks_are_drawn_around_the_kept_row(client):
    reader, author = make_user(), make_user()
    board = make_board()
    make_thread(board=board, author=author, title="Nouveau sujet")
    client.login(author.email)  # their own thread: nothing new for them
    mine = row_of(board_html(client, board), "Nouveau sujet")
    assert "badge-new" not in mine
    client.logout()
    client.login(reader.email)
    theirs = row_of(board_html(client, board), "Nouveau sujet")
    assert 'class="badge badge-new"' in theirs and ">Nouveau</a>" in theirs
    badge = re.search(r'<a class="badge badge-new".*?</a>', theirs).group(0)
    assert theirs.replace(badge, "").split() == mine.split()  # the same row around it
