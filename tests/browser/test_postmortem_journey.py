"""An admin writes the postmortem of a resolved incident in a real Chromium: the draft is saved
as she types and comes back after a reload, the preview shows the Markdown rendered by the
server, she adds an action item and publishes. The member who reported the problem finds it
in his thread, with the question "Is it fixed for you?", and answers "Non"; the admin sees
him counted on the incident page."""

import re

from playwright.sync_api import expect

from board.extensions import db
from board.forum import services as forum
from tests.browser.conftest import screenshot
from tests.browser.test_incident_journey import log_in, new_page  # noqa: F401, F811 - fixture
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import link_thread, make_incident, post_update

TEXT = ("Un **filtre anti-spam** a saturé la file d'envoi.\n\n"
        "- purge de la file\n- blocage du compte en cause")


def test_write_publish_and_answer(live_server, page, new_page):  # noqa: F811 - the fixture
    admin = make_user(role="admin", name="Camille (équipe)")
    reporter, other = make_user(name="Karim B."), make_user(name="Sophie M.")
    report = make_thread(board=make_board(), author=reporter,
                         title="Mes mails partent avec deux heures de retard")
    forum.mark_affected(report, other)
    incident = make_incident(admin, title="Messagerie : envois retardés")
    link_thread(incident, report, admin)
    post_update(incident, admin, "resolved", "Tout est reparti.")
    incident_path, thread_path = f"/travaux/incidents/{incident.id}", \
        f"/threads/{report.id}/{report.slug}"
    emails = admin.email, reporter.email
    db.session.rollback()  # hold no transaction open while the server writes

    # 1. The admin opens the editor from the incident page and types: the draft is saved.
    log_in(page, live_server, emails[0])
    page.goto(live_server + incident_path)
    page.get_by_role("link", name="Rédiger le post-mortem").click()
    page.wait_for_url(re.compile(r"/postmortem$"))
    page.locator("textarea#body").fill(TEXT)
    expect(page.locator(".draft-state")).to_contain_text("Brouillon enregistré à", timeout=8000)

    # 2. A reload brings the draft back from the server.
    page.reload()
    expect(page.locator("textarea#body")).to_have_value(TEXT)

    # 3. The preview, rendered by the server's pipeline, without leaving the page.
    page.get_by_role("button", name="Prévisualiser").click()
    preview = page.locator(".postmortem-preview")
    expect(preview).to_be_visible()
    expect(preview.locator("strong")).to_have_text("filtre anti-spam")
    expect(preview.locator("li")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/postmortem$"))

    # 4. An action item, then publish.
    page.locator("input#text").fill("Alerter sur la longueur de la file d'envoi")
    page.get_by_role("button", name="Ajouter l’action").click()
    expect(page.locator(".postmortem-actions li")).to_have_count(1)
    expect(page.locator("textarea#body")).to_have_value(TEXT)
    screenshot(page, "postmortem-01-editor")
    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(re.compile(rf"{incident_path}#postmortem$"))
    section = page.locator("section#postmortem")
    expect(section.locator("strong").first).to_have_text("filtre anti-spam")
    expect(section.locator(".postmortem-actions")).to_contain_text("Alerter sur la longueur")
    expect(section.locator(".postmortem-actions")).to_contain_text("Prévu")
    screenshot(page, "postmortem-02-incident-page")

    # 5. The reporter finds it in his thread, and the question; he answers "Non".
    member = new_page()
    log_in(member, live_server, emails[1])
    member.goto(live_server + thread_path)
    official = member.locator("article.post.official").last
    expect(official).to_contain_text("Post-mortem")
    expect(official.locator("strong").last).to_be_visible()
    question = member.locator("section#fixed")
    expect(question).to_contain_text("Est-ce réglé pour vous")
    question.get_by_role("button", name="Non, toujours en panne").click()
    member.wait_for_url(re.compile(r"#fixed$"))
    expect(member.locator(".fixed-answer")).to_contain_text("toujours en panne")
    expect(member.locator("section#fixed button[aria-pressed=true]")).to_have_text(
        "Non, toujours en panne")
    screenshot(member, "postmortem-03-thread-question")

    # 6. The admin sees him counted.
    page.goto(live_server + incident_path)
    expect(page.locator(".fixed-counts .fixed-no")).to_have_text("1")
    expect(page.locator(".fixed-counts .fixed-yes")).to_have_text("0")
    screenshot(page, "postmortem-04-staff-counts")
