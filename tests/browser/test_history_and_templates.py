"""In a real browser: the history's filters (a GET form, kept when paging), and an admin who
declares an incident starting from a template, filled in place by incident_templates.js."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from board.clock import now, travel
from board.extensions import db
from board.travaux.incident_templates import save_template
from board.travaux.models import Incident
from tests.browser.conftest import screenshot
from tests.browser.test_incident_journey import log_in
from tests.factories import make_user
from tests.travaux.factories import make_incident, make_service, post_update


def test_the_history_filters_and_keeps_them_when_paging(app, live_server, page, monkeypatch):
    monkeypatch.setitem(app.config, "TRAVAUX_HISTORY_PER_PAGE", 3)
    admin = make_user(role="admin")
    web, mail = make_service("web", "Hébergement web"), make_service("mail", "Messagerie")
    start = datetime(2026, 6, 3, 9, tzinfo=UTC)
    for n in range(8):
        with travel(start + timedelta(days=9 * n) - now()):
            incident = make_incident(author=admin, services=[mail if n % 2 else web],
                                     impact="major" if n % 4 == 1 else "minor",
                                     title=f"{'Mail' if n % 2 else 'Web'} {n}")
            post_update(incident, admin, "resolved")
    db.session.commit()
    page.goto(live_server + "/travaux/")
    page.get_by_role("link", name="Tout l’historique, mois par mois").click()
    page.wait_for_url(re.compile(r"/travaux/history$"))
    page.get_by_label("Service").select_option(label="Messagerie")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"service=mail"))
    titles = page.locator(".history-month .history li > a").all_inner_texts()
    assert titles == ["Mail 7", "Mail 5", "Mail 3"]
    assert page.locator(".history-month h2").first.inner_text() in ("Août 2026",
                                                                    "Juillet 2026")
    screenshot(page, "history-filtered")
    page.get_by_role("link", name="Plus anciens").click()
    page.wait_for_url(re.compile(r"after="))
    assert "service=mail" in page.url
    assert page.locator(".history-month .history li > a").all_inner_texts() == ["Mail 1"]
    assert page.get_by_label("Service").input_value() == "mail"
    page.get_by_label("Impact").select_option(label="Majeur")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"impact=major"))
    assert page.locator(".history-month .history li > a").all_inner_texts() == \
        ["Mail 5", "Mail 1"]
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "history-filtered-phone")


def test_an_admin_declares_an_incident_from_a_template(app, live_server, page):
    make_service("web", "Hébergement web")
    mail = make_service("mail", "Messagerie")
    admin = make_user(role="admin")
    save_template(None, admin, name="Panne messagerie", title="Messagerie : réception coupée",
                  message="Nous **enquêtons** sur la réception des mails.",
                  status="identified", impact="major", services=[mail])
    db.session.commit()
    log_in(page, live_server, admin.email)
    page.get_by_role("link", name="Déclarer un incident").click()
    page.wait_for_url(re.compile(r"/travaux/incidents/new"))
    # With the script, choosing fills the form in place: no button, no reload.
    assert not page.get_by_role("button", name="Remplir le formulaire").is_visible()
    page.get_by_label("Partir d’un modèle").select_option("Panne messagerie")
    assert page.get_by_label("Titre").input_value() == "Messagerie : réception coupée"
    assert page.get_by_label("Impact").input_value() == "major"
    assert page.get_by_label("Statut", exact=True).input_value() == "identified"
    assert page.get_by_label("Messagerie").is_checked()
    assert not page.get_by_label("Hébergement web").is_checked()
    assert "relisez-le" in page.locator("[data-template-done]").inner_text()
    page.get_by_label("Titre").fill("Messagerie : réception coupée à Paris")
    screenshot(page, "incident-from-template")
    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(re.compile(r"/travaux/incidents/\d+$"))
    db.session.rollback()
    incident = db.session.scalar(select(Incident))
    assert incident.title == "Messagerie : réception coupée à Paris"
    assert (incident.impact, incident.status) == ("major", "identified")
    assert [s.slug for s in incident.services] == ["mail"]
    assert "<strong>enquêtons</strong>" in page.content()


def test_without_script_the_template_comes_back_from_the_server(app, browser, live_server):
    make_service("mail", "Messagerie")
    admin = make_user(role="admin")
    save_template(None, admin, name="Panne messagerie", title="Messagerie : réception coupée",
                  message="Nous enquêtons.", status="", impact="critical", services=[])
    db.session.commit()
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, admin.email)
        page.goto(live_server + "/travaux/incidents/new?kind=incident")
        page.get_by_label("Partir d’un modèle").select_option("Panne messagerie")
        page.get_by_role("button", name="Remplir le formulaire").click()
        page.wait_for_url(re.compile(r"template=Panne"))
        assert "kind=incident" in page.url
        assert page.get_by_label("Titre").input_value() == "Messagerie : réception coupée"
        assert page.get_by_label("Impact").input_value() == "critical"
    finally:
        context.close()
