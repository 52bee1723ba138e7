"""Similar reports while writing (board/search/similar.py): before a member posts, what is
already known about their problem, live as they type or after a first "Continue"."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Affected, Thread
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import make_incident, make_service


def box(client, title, **args):
    response = client.get("/search/similar", query_string={"title": title, **args})
    assert response.status_code == 200, response.data[:300]
    return response.get_data(as_text=True)


def titles_in(html: str, names) -> list[str]:
    return sorted((name for name in names if name in html), key=html.index)


@pytest.fixture
def reports(app):
    board = make_board(name="Hébergement web")
    author = make_user()
    made = {title: make_thread(board=board, author=author, title=title) for title in (
        "Erreur 503 sur mon site depuis ce matin", "Lenteurs sur le serveur web7",
        "Courriels en retard chez Orange", "Certificat HTTPS expiré")}
    return board, made


def test_the_most_similar_open_threads_come_first(client, reports):
    _board, made = reports
    html = box(client, "mon site affiche une erreur 503")
    assert titles_in(html, made)[0] == "Erreur 503 sur mon site depuis ce matin"
    assert "Courriels en retard" not in html
    html = box(client, "lenteur serveur web7")
    assert titles_in(html, made)[0] == "Lenteurs sur le serveur web7"


def test_ongoing_operations_come_first_those_of_the_chosen_service_before(client, reports):
    web, mail = make_service(name="Hébergement web"), make_service(name="Messagerie")
    make_incident(services=[web], title="Panne du stockage web")
    make_incident(services=[mail], title="Retards de la messagerie")
    html = box(client, "mes courriels n'arrivent plus", service=mail.id)
    assert html.index("Retards de la messagerie") < html.index("Panne du stockage web")
    html = box(client, "mon site est lent", service=web.id)
    assert html.index("Panne du stockage web") < html.index("Retards de la messagerie")


def test_only_open_recent_threads_that_the_reader_may_see(client, reports, login_as):
    board, made = reports
    forum.hide_thread(made["Erreur 503 sur mon site depuis ce matin"], make_user(role="admin"))
    staff = make_thread(board=make_board(visibility="staff"), title="Erreur 503 sur le proxy")
    with travel(timedelta(days=31)):
        recent = make_thread(board=board, title="Erreur 503 encore sur mon site")
        html = box(client, "erreur 503 sur mon site")
        assert recent.title in html
        assert "Erreur 503 sur mon site depuis ce matin" not in html  # hidden, and old
        assert staff.title not in html
    resolved = make_thread(board=board, title="Erreur 503 résolue sur mon site")
    resolved.resolved_at = resolved.created_at
    locked = make_thread(board=board, title="Erreur 503 verrouillée sur mon site")
    forum.lock(locked, make_user(role="moderator"))
    db.session.commit()
    login_as("member")
    html = box(client, "erreur 503 sur mon site")
    assert resolved.title not in html and locked.title not in html and staff.title not in html
    assert "Erreur 503 sur mon site depuis ce matin" not in html


def test_nothing_to_show_is_an_empty_answer(client, reports):
    assert box(client, "").strip() == ""
    assert box(client, "le la les de").strip() == ""
    assert box(client, "zzzz qqqq").strip() == ""


@pytest.mark.parametrize("typed", [
    '"erreur', "erreur AND NEAR(a b)", "503*", "-", "a" * 10_000, "🔥 panne 🔥",
    "\u202eerreur 503", "title_terms : x", "') OR 1=1 --", "%_%"])
def test_any_title_gets_an_answer_never_an_error(client, reports, typed):
    box(client, typed)


def test_the_box_costs_the_same_queries_for_few_or_many_matches(client, reports):
    board, _made = reports
    make_incident(services=[make_service()], title="Panne générale")
    box(client, "erreur 503 sur mon site")
    with count_queries() as few:
        box(client, "erreur 503 sur mon site")
    author = make_user()
    for n in range(30):
        make_thread(board=board, author=author, title=f"Erreur 503 sur mon site numéro {n}")
    with count_queries() as many:
        box(client, "erreur 503 sur mon site")
    assert len(many) == len(few) <= 4, many


def test_without_javascript_the_box_comes_after_continue(client, reports, login_as):
    board, made = reports
    login_as("member")
    page = client.get(f"/boards/{board.slug}/new").get_data(as_text=True)
    assert "Continuer" in page
    data = {"title": "Mon site affiche une erreur 503", "body": "Depuis 8 h."}
    shown = client.form(f"/boards/{board.slug}/new", data)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "Erreur 503 sur mon site depuis ce matin" in html and 'name="checked"' in html
    assert db.session.scalar(select(Thread).where(Thread.title == data["title"])) is None
    published = client.form(f"/boards/{board.slug}/new", {**data, "checked": "1"})
    assert published.status_code == 302
    assert db.session.scalar(select(Thread).where(Thread.title == data["title"])) is not None


def test_a_report_like_no_other_is_published_at_once(client, reports, login_as):
    board, _made = reports
    login_as("member")
    response = client.form(f"/boards/{board.slug}/new",
                           {"title": "Quota FTP dépassé sans raison", "body": "Bonjour."})
    assert response.status_code == 302


def test_me_too_from_the_box_counts_the_reader_and_takes_them_there(client, reports, login_as):
    _board, made = reports
    thread = made["Erreur 503 sur mon site depuis ce matin"]
    member = login_as("member")
    html = box(client, "erreur 503 sur mon site")
    assert "Je suis concerné aussi" in html
    response = client.form(f"/threads/{thread.id}/affected")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/threads/{thread.id}/{thread.slug}")
    assert db.session.get(Affected, (thread.id, member.id)) is not None
    assert db.session.get(Thread, thread.id).affected_count == 2
