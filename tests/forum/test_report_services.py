"""A service on every report: offered on the new-thread form (prefilled from the board),
shown on the thread, the board and the feeds, corrected by moderators, searched by, and
carried into a promotion."""

import re

from sqlalchemy import select

from board.extensions import db
from board.forum import services as forum
from board.forum.models import Board, Thread
from tests.factories import make_board, make_user
from tests.feedtools import read
from tests.search.conftest import results
from tests.travaux.factories import make_service


def test_the_new_thread_form_offers_the_services_prefilled_from_the_board(client, login_as):
    web, mail = make_service(name="Hébergement web"), make_service(name="Messagerie")
    board = make_board()
    board.default_service_id = mail.id
    db.session.commit()
    login_as("member")
    page = client.get(f"/boards/{board.slug}/new").get_data(as_text=True)
    assert "Service concerné" in page and "Hébergement web" in page
    assert f'<option selected value="{mail.id}">' in page
    response = client.form(f"/boards/{board.slug}/new", {
        "title": "Plus aucun courriel", "body": "Depuis 9 h.", "service": str(web.id),
        "checked": "1"})
    assert response.status_code == 302
    thread = db.session.scalar(select(Thread).where(Thread.title == "Plus aucun courriel"))
    assert thread.service_id == web.id
    bad = client.form(f"/boards/{board.slug}/new", {
        "title": "Service inconnu", "body": "x", "service": "999999", "checked": "1"})
    assert bad.status_code == 422
    none = client.form(f"/boards/{board.slug}/new", {
        "title": "Je ne sais pas lequel", "body": "x", "service": "", "checked": "1"})
    assert none.status_code == 302
    assert db.session.scalar(select(Thread.service_id).where(
        Thread.title == "Je ne sais pas lequel")) is None


def test_without_services_the_form_asks_nothing(client, login_as):
    board = make_board()
    login_as("member")
    assert "Service concerné" not in client.get(f"/boards/{board.slug}/new").get_data(
        as_text=True)


def test_the_thread_the_board_and_the_feeds_show_the_service(client):
    web = make_service(name="Hébergement web")
    board = make_board()
    thread = forum.open_thread(board, make_user(), "Site lent", "Depuis ce matin.",
                               service_id=web.id)
    assert "badge-service" in client.get(f"/threads/{thread.id}/{thread.slug}").get_data(
        as_text=True)
    listing = client.get(f"/boards/{board.slug}").get_data(as_text=True)
    assert "Hébergement web" in listing
    feed = read(client, f"/boards/{board.slug}/feed", "atom")
    assert "Hébergement web" in feed.entries[0].labels


def test_moderators_correct_the_service_members_cannot(client, login_as):
    web, mail = make_service(name="Hébergement web"), make_service(name="Messagerie")
    thread = forum.open_thread(make_board(), make_user(), "Site lent", "Oui.",
                               service_id=web.id)
    login_as("member")
    assert client.form(f"/threads/{thread.id}/service",
                       {"service": str(mail.id)}).status_code == 403
    client.logout()
    login_as("moderator")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "service-form" in page
    response = client.form(f"/threads/{thread.id}/service", {"service": str(mail.id)})
    assert response.status_code == 302
    assert db.session.get(Thread, thread.id).service_id == mail.id
    assert "a changé le service du signalement" in client.get("/moderation").get_data(
        as_text=True)
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Messagerie</span>" in page and "Hébergement web</span>" not in page


def test_admins_give_a_board_its_default_service(client, login_as):
    mail = make_service(name="Messagerie")
    board = make_board()
    login_as("admin")
    response = client.form(f"/admin/boards/{board.id}", {
        "name": board.name, "slug": board.slug, "description": "", "position": "1",
        "visibility": "public", "default_service": str(mail.id)})
    assert response.status_code == 302
    assert db.session.get(Board, board.id).default_service_id == mail.id


def test_search_by_service_finds_the_reports_about_it(client):
    web, mail = make_service(slug="web", name="Web"), make_service(slug="mail", name="Mail")
    board = make_board()
    author = make_user()
    forum.open_thread(board, author, "Panne générale ce matin", "panne", service_id=web.id)
    forum.open_thread(board, author, "Panne des courriels", "panne", service_id=mail.id)
    found = results(client.get("/search", query_string={"q": "panne", "service": "web"}))
    assert [r.split(":", 1)[1].strip() for r in found] == ["Panne générale ce matin"]


def test_similar_reports_on_the_chosen_service_come_first(client):
    web, mail = make_service(name="Web"), make_service(name="Mail")
    board = make_board()
    author = make_user()
    forum.open_thread(board, author, "Erreur 503 sur le webmail", "x", service_id=mail.id)
    forum.open_thread(board, author, "Erreur 503 sur mon site", "x", service_id=web.id)
    html = client.get("/search/similar", query_string={
        "title": "erreur 503", "service": str(mail.id)}).get_data(as_text=True)
    assert html.index("Erreur 503 sur le webmail") < html.index("Erreur 503 sur mon site")
    html = client.get("/search/similar", query_string={
        "title": "erreur 503", "service": str(web.id)}).get_data(as_text=True)
    assert html.index("Erreur 503 sur mon site") < html.index("Erreur 503 sur le webmail")


def test_promotion_starts_from_the_report(client, login_as):
    web = make_service(name="Hébergement web")
    thread = forum.open_thread(make_board(), make_user(), "Erreur 503 partout", "Oui.",
                               service_id=web.id)
    for _ in range(3):
        forum.mark_affected(thread, make_user())
    login_as("admin")
    page = client.get(f"/threads/{thread.id}/promote").get_data(as_text=True)
    assert 'value="Erreur 503 partout"' in page
    box = re.search(rf'<input[^>]*value="{web.id}"[^>]*>', page).group(0)
    assert "checked" in box
    assert '<option selected value="major">' in page  # 4 members affected
