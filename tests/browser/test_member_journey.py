"""A newcomer registers, confirms through the mail, logs in, opens a thread and replies."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from board.extensions import db
from board.outbox.models import OutboxMessage
from tests.browser.conftest import screenshot
from tests.factories import make_board


def confirmation_link(address: str) -> str:
    db.session.rollback()  # see what the server's requests committed
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert mail.payload["to"] == address
    return re.search(r"https?://\S+/confirm/\S+", mail.payload["text"]).group(0)


def test_register_confirm_login_open_thread_and_reply(live_server, page):
    board = make_board(slug="hebergement-web", name="Hébergement web")
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="S'inscrire").click()
    page.get_by_label("Adresse e-mail").fill("elodie@example.org")
    page.get_by_label("Nom affiché").fill("Élodie R.")
    page.get_by_label("Mot de passe").fill("une phrase de passe solide")
    screenshot(page, "01-register")
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.locator("main")).to_contain_text("elodie@example.org")

    page.goto(confirmation_link("elodie@example.org"))
    page.get_by_role("button", name="Confirmer mon adresse").click()
    assert "confirmée" in page.locator(".flashes").inner_text()
    # The link proves the mailbox, not the password: she lands on the login page.
    page.get_by_label("Adresse e-mail").fill("elodie@example.org")
    page.get_by_label("Mot de passe").fill("une phrase de passe solide")
    page.get_by_role("button", name="Se connecter").click()
    assert page.locator(".user-name").inner_text() == "Élodie R."

    page.get_by_role("link", name=board.name).click()
    page.get_by_role("link", name="Nouveau sujet").click()
    page.get_by_label("Titre").fill("Site très lent depuis ce matin")
    page.get_by_label("Message").fill("Bonjour,\n\nMon site met **10 secondes** à répondre.")
    page.get_by_role("button", name="Publier").click()
    expect(page.locator("h1")).to_have_text("Site très lent depuis ce matin")
    assert page.locator(".post-body strong").inner_text() == "10 secondes"

    page.get_by_label("Message").fill("Mise à jour : c'est revenu à la normale vers midi.")
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.locator(".post")).to_have_count(2)
    assert "revenu à la normale" in page.locator(".post").nth(1).inner_text()
    path = screenshot(page, "02-thread-with-reply")
    assert path.stat().st_size > 10_000

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "03-thread-on-a-phone")
    page.get_by_role("link", name="Forums").first.click()
    screenshot(page, "04-index-on-a-phone")
