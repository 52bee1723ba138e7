"""In a real browser: a member logged in on two devices logs out everywhere from the account
page; a newcomer with a mistyped address deletes the account."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_user


def log_in(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Se souvenir de moi").check()
    page.get_by_role("button", name="Se connecter").click()


def test_log_out_everywhere_from_the_account_page(live_server, browser, page):
    make_user(email="sophie@example.org", name="Sophie M.")
    laptop = browser.new_context(locale="fr-FR")
    try:
        other = laptop.new_page()
        log_in(other, live_server, "sophie@example.org")
        assert other.locator(".user-name").inner_text() == "Sophie M."

        log_in(page, live_server, "sophie@example.org")
        page.goto(live_server + "/account")
        devices = page.get_by_role("region", name="Appareils")
        assert "toutes vos sessions" in devices.inner_text()
        screenshot(page, "account-devices")
        devices.get_by_role("button", name="Se déconnecter partout").click()
        assert "déconnecté partout" in page.locator(".flashes").inner_text()
        assert page.url.endswith("/login")

        other.goto(live_server + "/account")  # its session and remember-me cookies are dead
        assert other.url.startswith(live_server + "/login")
        expect(other.locator(".user-name")).to_have_count(0)
    finally:
        laptop.close()


def test_an_unconfirmed_newcomer_deletes_the_account(live_server, page):
    make_user(email="typo@exmaple.org", name="Nadia K.", confirmed=False)
    log_in(page, live_server, "typo@exmaple.org")
    page.goto(live_server + "/account")
    expect(page.get_by_role("region", name="Profil")).to_have_count(0)
    delete = page.get_by_role("region", name="Supprimer mon compte")
    delete.get_by_label("Mot de passe actuel").fill(PASSWORD)
    screenshot(page, "account-unconfirmed")
    delete.get_by_role("button", name="Supprimer mon compte").click()
    assert "supprimé" in page.locator(".flashes").inner_text()
    expect(page.locator(".user-name")).to_have_count(0)
