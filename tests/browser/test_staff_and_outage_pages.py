"""In a real browser: an admin filters the moderation log without JavaScript-only controls,
and a logged-in member meets the styled 503 page, with the way to the status site, when the
database is gone."""

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from board import create_app
from board.forum import services as forum
from tests.browser.conftest import screenshot
from tests.conftest import TEST_CONFIG
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import make_incident, make_service

PUBLIC = "https://etat.example.org"


def log_in(page, base, user):
    page.goto(base + "/login")
    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe").fill("correct horse battery")
    page.get_by_role("button", name="Se connecter").click()
    assert page.locator(".user-name").inner_text() == user.name


def test_an_admin_filters_the_moderation_log(live_server, page):
    luc = make_user(role="admin", name="Luc")
    marc = make_user(role="moderator", name="Marc")
    board = make_board(slug="hebergement-web", name="Hébergement web")
    thread = make_thread(board=board, title="Mon site est très lent")
    reply = forum.reply(thread, make_user(name="Zoé"), "Réponse à masquer")
    forum.hide_post(reply, marc)
    forum.lock(thread, luc)
    forum.pin(thread, luc)
    make_incident(luc, services=[make_service("web", "Hébergement web")], title="Panne web")
    log_in(page, live_server, luc)
    page.get_by_role("link", name="Modération").click()
    entries = page.locator(".log-entries li")
    screenshot(page, "ui-01-moderation-log")
    expect(entries).to_have_count(4)
    page.get_by_label("Action").select_option(label="Message masqué")
    page.get_by_role("button", name="Filtrer").click()
    assert "action=post.hide" in page.url
    expect(entries).to_have_count(1)
    assert entries.first.inner_text().startswith(
        "Marc a masqué un message dans « Mon site est très lent »")
    page.get_by_label("Action").select_option(value="")
    page.get_by_label("Par").select_option(label="Luc")
    page.get_by_role("button", name="Filtrer").click()
    expect(entries).to_have_count(3)  # locked, pinned, opened the incident
    screenshot(page, "ui-02-moderation-log-by-actor")
    entries.first.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text(re.compile("^(Panne web|Mon site est très lent)$"))
    page.goto(live_server + "/moderation")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "ui-03-moderation-log-on-a-phone")


@pytest.fixture
def outage_server(app, tmp_path):
    """A second server of the platform whose database file is out of reach."""
    down = create_app({**TEST_CONFIG, "TESTING": False, "TRAVAUX_PUBLIC_URL": PUBLIC,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'gone' / 'db.sqlite3'}"})
    server = make_server("127.0.0.1", 0, down, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_member_meets_the_styled_503_page(live_server, outage_server, page):
    zoe = make_user(name="Zoé")
    make_incident(title="Panne de la messagerie")
    log_in(page, live_server, zoe)
    page.goto(live_server + "/travaux/")
    screenshot(page, "ui-04-status-page-dates-with-zone")
    # The same browser, its session cookie and all, on a platform without its database.
    response = page.goto(outage_server + "/travaux/")
    assert response.status == 503
    assert page.locator("h1").inner_text() == "Service indisponible"
    link = page.get_by_role("link", name="site de statut indépendant")
    assert link.get_attribute("href") == PUBLIC
    expect(page.locator(".user-name")).to_have_count(0)
    # The forums are down too: the main button leads to the status site, not back to them.
    assert page.get_by_role("link", name="Voir l'état de nos services").get_attribute(
        "href") == PUBLIC
    screenshot(page, "ui-05-503-as-a-member")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "ui-06-503-on-a-phone")


def test_the_static_site_reads_dates_with_their_zone(app, page, tmp_path):
    from datetime import timedelta

    from board.clock import now
    from board.travaux.export import export

    web = make_service("web", "Hébergement web")
    make_incident(services=[web], title="Panne de la messagerie", impact="major")
    make_incident(kind="maintenance", services=[web], title="Mise à jour du noyau",
                  window=(now() + timedelta(days=2), now() + timedelta(days=2, hours=4)))
    export(tmp_path / "site")
    page.goto((tmp_path / "site" / "index.html").as_uri())
    text = page.locator("main").inner_text()
    assert "(heure de Paris)" in text and "il y a" not in text
    screenshot(page, "ui-07-static-site-dates")
