"""A member deletes their own reply: the thread's "Supprimer" opens a confirmation page, and
only its button deletes."""

from playwright.sync_api import expect

from board.forum import services as forum
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_thread, make_user


def test_member_deletes_a_reply_through_the_confirmation(live_server, page):
    member = make_user(name="Élodie R.")
    thread = make_thread(title="Certificat expiré sur mon domaine")
    forum.reply(thread, member, "Même souci chez moi, **depuis hier soir**.")
    page.goto(live_server + "/login")
    page.get_by_label("Adresse e-mail").fill(member.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
    expect(page.locator(".post")).to_have_count(2)
    page.locator(".post").nth(1).get_by_role("link", name="Supprimer").click()
    expect(page.locator("h1")).to_have_text("Supprimer ce message ?")
    assert "Même souci chez moi, depuis hier soir." in page.locator("blockquote").inner_text()
    screenshot(page, "delete-01-confirmation")

    page.get_by_role("link", name="Le garder").click()  # changing one's mind deletes nothing
    expect(page.locator(".post")).to_have_count(2)
    page.locator(".post").nth(1).get_by_role("link", name="Supprimer").click()
    page.get_by_role("button", name="Supprimer le message").click()
    assert "Votre message est supprimé." in page.locator(".flashes").inner_text()
    expect(page.locator(".post")).to_have_count(1)
    screenshot(page, "delete-02-deleted")
