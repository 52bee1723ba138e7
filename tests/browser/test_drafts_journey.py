"""A member previews a reply, leaves and comes back to its draft (the reply form and the
new-thread form), publishes, edits and opens the post's versions; without JavaScript the
preview and the draft still work."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from board.extensions import db
from board.forum.drafts import Draft
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_board, make_thread, make_user


def log_in(page, live_server, member):
    page.goto(live_server + "/login")
    page.get_by_label("Adresse e-mail").fill(member.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    assert page.locator(".user-name").inner_text() == member.name


def drafts():
    db.session.rollback()  # see what the server's requests committed
    return db.session.scalars(select(Draft)).all()


def test_preview_a_reply_leave_and_come_back_to_the_draft(live_server, page):
    member = make_user(name="Élodie R.")
    thread = make_thread(title="Certificat expiré sur mon domaine")
    log_in(page, live_server, member)
    address = f"{live_server}/threads/{thread.id}/{thread.slug}"
    page.goto(address)

    reply = page.get_by_label("Message")
    reply.fill("Même souci chez moi, **depuis hier soir**.\n\n- domaine : exemple.fr")
    page.get_by_role("button", name="Prévisualiser").click()
    pane = page.locator(".preview-pane")
    assert pane.locator("strong").inner_text() == "depuis hier soir"
    assert pane.locator("li").inner_text() == "domaine : exemple.fr"
    status = page.locator(".draft-status")
    status.filter(has_text=re.compile(r"Brouillon enregistré à \d\d:\d\d")).wait_for()
    screenshot(page, "drafts-01-reply-preview-and-draft")

    # Gone to another page and back: the reply is where it was left.
    page.get_by_role("link", name="Forums").first.click()
    page.goto(address)
    assert page.get_by_label("Message").input_value().startswith("Même souci chez moi")
    assert "Brouillon enregistré à" in status.inner_text()

    # A few words more and the page left at once, before the pause that saves: the page
    # sends them as it goes.
    page.get_by_label("Message").press("Control+End")
    page.get_by_label("Message").type(" Et ce matin aussi.")
    page.get_by_role("link", name="Forums").first.click()
    page.locator("h1").wait_for()
    # The beacon travels on its own: wait for the server to have it (not for a set time).
    for _ in range(100):
        if [d.body for d in drafts() if d.body.endswith("Et ce matin aussi.")]:
            break
        page.wait_for_timeout(50)
    page.goto(address)
    assert page.get_by_label("Message").input_value().endswith("Et ce matin aussi.")

    # Published: the draft is gone, the form empty.
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.locator(".post")).to_have_count(2)
    assert drafts() == []
    page.goto(address)
    assert page.get_by_label("Message").input_value() == ""
    assert status.inner_text() == ""


def test_a_new_thread_draft_comes_back_then_goes_with_the_thread(live_server, page):
    member = make_user(name="Karim B.")
    board = make_board(slug="hebergement-web", name="Hébergement web")
    log_in(page, live_server, member)
    page.goto(f"{live_server}/boards/{board.slug}/new")
    page.get_by_label("Titre").fill("Site très lent depuis ce matin")
    page.get_by_label("Message").fill("Mon site met *10 secondes* à répondre.")
    page.locator(".draft-status").filter(has_text="Brouillon enregistré à").wait_for()
    page.get_by_role("button", name="Prévisualiser").click()
    assert page.locator(".preview-pane em").inner_text() == "10 secondes"
    screenshot(page, "drafts-02-new-thread-draft")

    page.get_by_role("link", name="Annuler").click()
    page.get_by_role("link", name="Nouveau sujet").click()
    assert page.get_by_label("Titre").input_value() == "Site très lent depuis ce matin"
    assert page.get_by_label("Message").input_value() == "Mon site met *10 secondes* à répondre."

    page.get_by_role("button", name=re.compile("Publier|Continuer")).click()
    if page.get_by_role("button", name="Publier").count():
        page.get_by_role("button", name="Publier").click()
    expect(page.locator("h1")).to_have_text("Site très lent depuis ce matin")
    assert drafts() == []
    page.goto(f"{live_server}/boards/{board.slug}/new")
    assert page.get_by_label("Titre").input_value() == ""


def test_delete_a_draft_in_place(live_server, page):
    member = make_user()
    thread = make_thread()
    log_in(page, live_server, member)
    page.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
    page.get_by_label("Message").fill("Finalement non.")
    page.locator(".draft-status").filter(has_text="Brouillon enregistré à").wait_for()
    page.get_by_role("button", name="Supprimer le brouillon").click()
    page.locator(".draft-status").filter(has_text="Le brouillon est supprimé.").wait_for()
    assert page.get_by_label("Message").input_value() == ""
    assert drafts() == []


def test_open_the_versions_of_an_edited_post(live_server, page):
    member = make_user(name="Élodie R.")
    thread = make_thread(author=member, title="Coupure de la messagerie",
                         body="Mes mails partent avec **une heure** de retard.")
    log_in(page, live_server, member)
    page.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
    page.locator(".post").first.get_by_role("link", name="Modifier").click()
    page.get_by_label("Message").fill("Mes mails partent avec **deux heures** de retard.")
    page.get_by_role("button", name="Enregistrer").click()
    page.locator(".post").first.locator("a.edited").click()
    expect(page.locator("h1")).to_have_text("Versions d’un message")
    current = page.locator(".revision").first
    assert current.locator("del").inner_text() == "une heure"
    assert current.locator("ins").inner_text() == "deux heures"
    screenshot(page, "drafts-03-revisions")


def test_without_javascript_preview_and_draft_still_work(live_server, browser):
    member = make_user()
    thread = make_thread()
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, member)
        page.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
        page.get_by_label("Message").fill("Sans *script*.")
        page.get_by_role("button", name="Prévisualiser").click()
        assert page.locator(".preview-pane em").inner_text() == "script"
        assert page.get_by_label("Message").input_value() == "Sans *script*."
        screenshot(page, "drafts-04-preview-without-javascript")
        page.get_by_role("button", name="Envoyer la réponse").click()
        expect(page.locator(".post")).to_have_count(2)
    finally:
        context.close()
