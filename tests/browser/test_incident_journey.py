"""A member reports a problem, another says "me too", an admin promotes the report to an
official incident and posts an update; the reporter sees it relayed in the thread, and a guest
finds it in the banner of ongoing operations (by mouse and by keyboard)."""

import re

import pytest
from playwright.sync_api import expect

from board.extensions import db
from board.travaux.models import Service
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_board, make_user

TITLE = "Sites très lents sur le serveur web 12"
BODY = "Bonjour,\n\nDepuis 9 h, mes sites mettent **plus de 10 secondes** à s'afficher."
UPDATE = "Un disque est lent, nous déplaçons les sites."
MAX_TABS = 15


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (its own cookies: another person)."""
    contexts = []

    def open_page():
        context = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.locator(".user-name").wait_for(state="visible")


def test_report_promoted_to_incident_and_shown_in_banner(live_server, page, new_page):
    # 1. A public board, two services, a reporter, another member and an admin.
    board = make_board(slug="hebergement-web", name="Hébergement web")
    web = Service(slug="hebergement", name="Hébergement web", position=1)
    mail = Service(slug="messagerie", name="Messagerie", position=2)
    db.session.add_all([web, mail])
    db.session.commit()
    reporter = make_user(name="Alice R.")
    other = make_user(name="Bruno M.")
    admin = make_user(role="admin", name="Chloé (équipe)")
    board_slug, web_id, web_name = board.slug, web.id, web.name
    emails = reporter.email, other.email, admin.email
    db.session.rollback()  # hold no transaction open while the server writes

    # 2. The reporter logs in through the form and opens a thread.
    log_in(page, live_server, emails[0])
    page.goto(f"{live_server}/boards/{board_slug}/new")
    page.fill("#title", TITLE)
    page.fill("#body", BODY)
    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(re.compile(r"/threads/\d+/"))
    thread_url = page.url
    thread_id = int(re.search(r"/threads/(\d+)/", thread_url).group(1))
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator(".affected-count")).to_have_text("Vous êtes concerné·e")
    # The author cannot say "me too" on her own report.
    expect(page.locator('form[action$="/affected"]')).to_have_count(0)

    # 3. Another member says he is affected too.
    member = new_page()
    log_in(member, live_server, emails[1])
    member.goto(thread_url)
    affected = member.locator('form[action$="/affected"] button')
    expect(affected).to_have_attribute("aria-pressed", "false")
    affected.click()
    member.wait_for_url(re.compile(rf"/threads/{thread_id}/"))
    expect(member.locator(".affected-count")).to_have_text("Vous et 1 autre membre êtes concernés")
    expect(member.locator('form[action$="/affected"] button')).to_have_attribute(
        "aria-pressed", "true")
    screenshot(member, "incident-01-member-affected-too")

    # 4. The admin promotes the report, then posts an update.
    staff = new_page()
    log_in(staff, live_server, emails[2])
    staff.goto(thread_url)
    expect(staff.locator(".affected-count")).to_have_text("2 membres concernés")
    staff.locator('a[href$="/promote"]').click()
    staff.wait_for_url(re.compile(rf"/threads/{thread_id}/promote$"))
    expect(staff.locator("#title")).to_have_value(TITLE)
    staff.locator(f'input[name="services"][value="{web_id}"]').check()
    staff.select_option("#impact", "major")
    screenshot(staff, "incident-02-promote-form")
    staff.locator("form:has(#impact) button[type=submit]").click()
    staff.wait_for_url(re.compile(r"/travaux/incidents/\d+$"))
    incident_url = staff.url
    expect(staff.locator("h1")).to_have_text(TITLE)
    expect(staff.locator(".page-head .badge.status-investigating")).to_be_visible()
    expect(staff.locator(".badge.impact-major")).to_be_visible()
    expect(staff.locator("dl.facts")).to_contain_text(web_name)
    expect(staff.locator("ol.timeline > li")).to_have_count(1)

    update_form = staff.locator('form[action$="/updates"]')
    update_form.locator("select#status").select_option("identified")
    update_form.locator("textarea#message").fill(UPDATE)
    update_form.locator("button[type=submit]").click()
    staff.wait_for_url(re.compile(r"/travaux/incidents/\d+#update-\d+$"))
    expect(staff.locator("ol.timeline > li")).to_have_count(2)
    latest = staff.locator("ol.timeline > li").first
    expect(latest.locator(".badge.status-identified")).to_be_visible()
    expect(latest.locator(".post-body")).to_contain_text(UPDATE)
    expect(staff.locator(".page-head .badge.status-identified")).to_be_visible()
    screenshot(staff, "incident-03-incident-page-admin")

    # 5. The reporter reloads her thread: the incident box and the relayed update.
    page.reload()
    box = page.locator("section.incident-box")
    box.wait_for(state="visible")
    expect(box.locator(f'a[href="{incident_url.removeprefix(live_server)}"]').first).to_be_visible()
    expect(box.locator(".badge.status-identified")).to_be_visible()
    expect(box.locator(".badge.impact-major")).to_be_visible()
    expect(box.locator(".operation-last")).to_contain_text(UPDATE)
    official = page.locator("article.post.official")
    expect(official).to_have_count(2)  # the promotion notice, then the update
    expect(official.last.locator(".post-body")).to_contain_text(UPDATE)
    expect(official.last.locator(".post-body a[href*='/travaux/incidents/']")).to_be_visible()
    expect(page.locator(".affected-count")).to_have_text("Vous et 1 autre membre êtes concernés")
    screenshot(page, "incident-04-thread-seen-by-reporter")

    # 6. A guest sees the banner on every page; it opens on hover...
    guest = new_page()
    guest.goto(live_server + "/")
    expect(guest.locator(".user-name")).to_have_count(0)
    disclosure = guest.locator("aside.ops-banner details[data-hover-disclosure]")
    summary = disclosure.locator("summary")
    details = disclosure.locator(".ops-details")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(TITLE)
    expect(details).to_be_hidden()
    summary.hover()
    details.wait_for(state="visible")
    expect(details).to_contain_text(web_name)
    expect(details).to_contain_text(UPDATE)
    screenshot(guest, "incident-05-banner-hover")
    guest.mouse.move(600, 890)  # well below the banner
    details.wait_for(state="hidden")

    # ...and by keyboard, tabbing from the top of the page.
    guest.goto(live_server + "/travaux/")
    expect(details).to_be_hidden()
    for _ in range(MAX_TABS):
        guest.keyboard.press("Tab")
        if summary.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail(f"the banner's summary was not reached in {MAX_TABS} Tab presses")
    details.wait_for(state="visible")
    expect(details).to_contain_text(web_name)
    expect(details).to_contain_text(UPDATE)
    expect(details.locator('a[href$="/travaux/"]')).to_be_visible()
    screenshot(guest, "incident-06-banner-keyboard")
    guest.keyboard.press("Escape")
    details.wait_for(state="hidden")
    assert summary.evaluate("el => el === document.activeElement")  # focus stays put

    # The status page and the incident page, as the guest sees them.
    guest.reload()
    expect(guest.locator("section.overall")).not_to_have_class(re.compile(r"overall-operational"))
    expect(guest.locator(".operation-card")).to_have_count(1)
    expect(guest.locator(".operation-card")).to_contain_text(UPDATE)
    expect(guest.locator(".service-list li").filter(has_text=web_name)
           .locator(".level-partial_outage")).to_be_visible()
    expect(guest.locator(".service-list li").filter(has_text="Messagerie")
           .locator(".level-operational")).to_be_visible()
    screenshot(guest, "incident-07-status-page")
    guest.locator(".operation-card a").click()
    guest.wait_for_url(incident_url)
    expect(guest.locator('form[action$="/updates"]')).to_have_count(0)
    expect(guest.locator("ol.timeline > li").first).to_contain_text(UPDATE)
    screenshot(guest, "incident-08-incident-page-guest")
