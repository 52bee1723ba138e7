"""An admin turns a report into an official incident in two clicks from the thread: the form
comes filled from the report (title, its service, an impact from the members affected)."""

import re

from sqlalchemy import select

from board.extensions import db
from board.forum import services as forum
from board.travaux.models import Incident
from tests.browser.conftest import screenshot
from tests.browser.test_incident_journey import log_in
from tests.factories import make_board, make_user
from tests.travaux.factories import make_service


def test_an_admin_promotes_a_report_in_two_clicks(live_server, page):
    web = make_service(slug="web", name="Hébergement web")
    make_service(slug="mail", name="Messagerie")
    report = forum.open_thread(make_board(name="Hébergement web"), make_user(),
                               "Erreur 503 sur tous les sites", "Depuis 10 h.",
                               service_id=web.id)
    for _ in range(3):
        forum.mark_affected(report, make_user())
    admin = make_user(role="admin")
    thread_url = f"{live_server}/threads/{report.id}/{report.slug}"
    web_id, title = web.id, report.title
    db.session.rollback()
    log_in(page, live_server, admin.email)
    page.goto(thread_url)

    clicks = 0

    def click(locator):
        nonlocal clicks
        clicks += 1
        locator.click()

    click(page.get_by_role("link", name="Promouvoir en incident officiel"))
    page.wait_for_url(re.compile(r"/promote$"))
    screenshot(page, "promotion-prefilled")
    click(page.locator("form:has(#impact) button[type=submit]"))
    page.wait_for_url(re.compile(r"/travaux/incidents/\d+$"))
    assert clicks == 2
    db.session.rollback()
    incident = db.session.scalar(select(Incident).where(Incident.source_thread_id == report.id))
    assert incident.title == title and incident.impact == "major"
    assert [s.id for s in incident.services] == [web_id]
