"""Solved help threads: the thread's author or staff mark one reply as the solution (POST,
CSRF); it shows under the first post, the thread says "Résolu" in its board, in search and in
the feeds; the reply's author is notified; staff's marks are in the audit log."""

import re

import pytest
from sqlalchemy import select

from board.audit import AuditLog
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Board, Thread
from board.forum.notifications import Notification
from board.search.services import reindex
from tests.factories import make_board, make_thread, make_user
from tests.feedtools import FORMATS, read


@pytest.fixture
def help_thread(app):
    """A help board's question by Alice, a wrong answer by Béa, the right one by Carl."""
    alice, bea, carl = (make_user(name=n) for n in ("Alice", "Béa", "Carl"))
    board = make_board(slug="entraide", name="Entraide")
    board.solvable = True
    db.session.commit()
    thread = make_thread(board=board, author=alice, title="Certificat expiré",
                         body="Mon certificat a expiré hier.")
    wrong = forum.reply(thread, bea, "Redémarrez le serveur.")
    right = forum.reply(thread, carl, "Un vieil enregistrement **AAAA** bloque le "
                                      "renouvellement : supprimez-le.")
    return thread, wrong, right, (alice, bea, carl)


def thread_html(client, thread) -> str:
    return client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)


def solution_of(thread) -> int | None:
    db.session.expire_all()
    return db.session.get(Thread, thread.id).solution_post_id


def test_the_author_marks_a_reply_and_everyone_sees_it(client, help_thread):
    thread, wrong, right, (alice, bea, carl) = help_thread
    # A guest's pages before: cached, they must not stay so.
    assert "solution-box" not in thread_html(client, thread)
    assert "badge-solved" not in client.get("/boards/entraide").get_data(as_text=True)
    client.login(alice.email)
    html = thread_html(client, thread)
    assert html.count("Marquer comme la solution") == 2  # each reply, not the question
    response = client.form(f"/posts/{right.id}/solution")
    assert response.status_code == 302
    assert solution_of(thread) == right.id
    # Carl is told, by the notifications of board/forum/notifications.py.
    [note] = db.session.scalars(select(Notification)
                                .where(Notification.kind == "solved")).all()
    assert (note.user_id, note.kind, note.post_id, note.actor_id) == (
        carl.id, "solved", right.id, alice.id)

    client.logout()
    html = thread_html(client, thread)  # a guest
    box = re.search(r'<aside class="solution-box".*?</aside>', html, re.S).group(0)
    assert "vieil enregistrement AAAA" in box and "par Carl" in box
    assert f'href="/posts/{right.id}"' in box
    assert html.index("Mon certificat a expiré") < html.index("solution-box") \
        < html.index("Redémarrez le serveur")
    assert "Cette réponse a résolu le problème" in html
    assert "Marquer comme la solution" not in html
    board = client.get("/boards/entraide").get_data(as_text=True)
    assert "badge-solved" in board and "Résolu" in board


def test_changing_and_unmarking_the_solution(client, help_thread):
    thread, wrong, right, (alice, bea, carl) = help_thread
    client.login(alice.email)
    client.form(f"/posts/{wrong.id}/solution")
    client.form(f"/posts/{right.id}/solution")
    assert solution_of(thread) == right.id
    assert "Retirer la solution" in thread_html(client, thread)
    client.form(f"/threads/{thread.id}/solution/clear")
    assert solution_of(thread) is None
    assert "badge-solved" not in client.get("/boards/entraide").get_data(as_text=True)
    assert db.session.scalars(select(AuditLog)).all() == []  # the author's own marks


def test_others_may_not_mark_and_csrf_is_required(client, help_thread):
    thread, wrong, right, (alice, bea, carl) = help_thread
    client.login(bea.email)
    assert "Marquer comme la solution" not in thread_html(client, thread)
    assert client.form(f"/posts/{right.id}/solution").status_code == 403
    assert client.form(f"/threads/{thread.id}/solution/clear").status_code == 403
    client.logout()
    client.login(alice.email)
    assert client.post(f"/posts/{right.id}/solution").status_code == 400  # no token
    # The question itself is no answer.
    response = client.form(f"/posts/{thread.first_post_id}/solution", follow_redirects=True)
    assert "Seule une réponse visible du sujet" in response.get_data(as_text=True)
    assert solution_of(thread) is None
    client.logout()
    assert client.form(f"/posts/{right.id}/solution").status_code == 302  # to the login page
    assert solution_of(thread) is None


def test_staff_mark_it_and_the_audit_log_says_so(client, help_thread):
    thread, wrong, right, people = help_thread
    moderator = make_user(role="moderator", name="Luc")
    client.login(moderator.email)
    client.form(f"/posts/{right.id}/solution")
    client.form(f"/threads/{thread.id}/solution/clear")
    entries = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(e.action, e.target_id) for e in entries] == [
        ("thread.solve", thread.id), ("thread.unsolve", thread.id)]
    log = client.get("/moderation").get_data(as_text=True)
    assert "a marqué la solution du sujet" in log and "a retiré la solution du sujet" in log


def test_only_help_boards_take_solutions(client):
    author, helper = make_user(), make_user()
    thread = make_thread(board=make_board(), author=author)
    answer = forum.reply(thread, helper, "Essayez ceci.")
    client.login(author.email)
    assert "Marquer comme la solution" not in thread_html(client, thread)
    assert client.form(f"/posts/{answer.id}/solution").status_code == 403


def test_a_hidden_solution_solves_nothing(client, help_thread):
    thread, wrong, right, (alice, bea, carl) = help_thread
    client.login(alice.email)
    client.form(f"/posts/{right.id}/solution")
    forum.hide_post(db.session.merge(right), make_user(role="moderator"))
    assert solution_of(thread) is None
    assert "solution-box" not in thread_html(client, thread)


def test_the_board_admin_form_sets_a_help_board(client):
    admin = make_user(role="admin")
    client.login(admin.email)
    page = client.get("/admin/boards/new").get_data(as_text=True)
    assert 'name="solvable"' in page
    client.form("/admin/boards/new", {"name": "Entraide", "slug": "entraide",
                                      "description": "", "position": "1",
                                      "visibility": "public", "solvable": "y"})
    assert db.session.scalar(select(Board.solvable).where(Board.slug == "entraide")) is True


@pytest.mark.parametrize("fmt", FORMATS)
def test_feeds_say_solved(client, help_thread, fmt):
    thread, wrong, right, (alice, bea, carl) = help_thread
    before = read(client, "/boards/entraide/feed", fmt)
    assert before.entry(f"thread-{thread.id}").title == "Certificat expiré"
    client.login(alice.email)
    client.form(f"/posts/{right.id}/solution")
    client.logout()
    for path in ("/feed", "/boards/entraide/feed"):
        feed = read(client, path, fmt)
        entry = feed.entry(f"thread-{thread.id}")
        assert entry.title == "[Résolu] Certificat expiré"
        assert "solved" in entry.categories or "Résolu" in entry.categories
    feed = read(client, f"/threads/{thread.id}/feed", fmt)
    assert feed.title.endswith(" [Résolu] Certificat expiré")
    solution = feed.entry(f"post-{right.id}")
    assert "solution" in solution.categories or "Solution" in solution.categories
    assert not ({"solution", "Solution"} & set(feed.entry(f"post-{wrong.id}").categories))


def test_search_results_say_solved(client, help_thread):
    thread, wrong, right, (alice, bea, carl) = help_thread
    reindex()
    before = client.get("/search?q=certificat").get_data(as_text=True)
    assert "Certificat expiré" in before and "badge-solved" not in before
    client.login(alice.email)
    client.form(f"/posts/{right.id}/solution")
    html = client.get("/search?q=certificat").get_data(as_text=True)
    result = re.search(r'<li class="search-result.*?</li>', html, re.S).group(0)
    assert "Certificat expiré" in result and "badge-solved" in result
