"""In a real browser: a member ticks their services on the account page, then reads
/travaux/ with their services first, then with "Mes services seulement", remembered."""

from datetime import timedelta

from playwright.sync_api import expect

from board.clock import now
from tests.browser.conftest import screenshot
from tests.browser.test_account_security import log_in
from tests.factories import make_user
from tests.travaux.factories import make_incident, make_service


def test_a_member_chooses_two_services_then_shows_them_alone(live_server, page):
    web = make_service(slug="web", name="Hébergement web", position=1)
    mail = make_service(slug="mail", name="Messagerie", position=2)
    make_service(slug="dns", name="DNS", position=3)
    admin = make_user(role="admin")
    make_incident(admin, services=[web], title="Sites lents")
    soon = now() + timedelta(days=1)
    make_incident(admin, kind="maintenance", services=[mail], title="Migration des boîtes",
                  window=(soon, soon + timedelta(hours=2)))
    make_incident(admin, services=[make_service(slug="db", name="Bases de données")],
                  title="Bases lentes")
    make_user(email="ines@example.org", name="Inès")

    log_in(page, live_server, "ines@example.org")
    page.goto(live_server + "/account")
    card = page.get_by_role("region", name="Mes services")
    card.get_by_label("Hébergement web").check()
    card.get_by_label("Messagerie").check()
    screenshot(page, "my-services-01-account")
    card.get_by_role("button", name="Enregistrer").click()
    assert "Vos services sont enregistrés." in page.locator(".flashes").inner_text()
    card = page.get_by_role("region", name="Mes services")
    assert card.get_by_label("Hébergement web").is_checked()
    assert card.get_by_label("Messagerie").is_checked()
    assert not card.get_by_label("DNS").is_checked()

    page.goto(live_server + "/travaux/")
    services = page.locator(".service-list li .service-name").all_inner_texts()
    assert [s.split()[0] for s in services[:2]] == ["Hébergement", "Messagerie"]
    main = page.locator("main")
    assert "Bases lentes" in main.inner_text()
    screenshot(page, "my-services-02-mine-first")

    # The link sets the choice and comes back to /travaux/: the same address, so wait
    # for the new page's words rather than read the old one's.
    main.get_by_role("link", name="Mes services seulement").click()
    expect(main).to_contain_text("Seuls vos services sont affichés.")
    assert page.url == live_server + "/travaux/"
    text = main.inner_text()
    assert "Sites lents" in text and "Migration des boîtes" in text
    assert "Bases lentes" not in text
    screenshot(page, "my-services-03-mine-only")

    page.goto(live_server + "/")  # remembered from page to page, the banner included
    page.goto(live_server + "/travaux/")
    assert "Bases lentes" not in page.locator("main").inner_text()
    page.locator("main").get_by_role("link", name="Afficher tous les services").click()
    expect(page.locator("main")).to_contain_text("Bases lentes")
