"""An admin registers a webhook endpoint in a real browser: a refused private address says
why, the saved endpoint shows its generated secret once, and the test event lands in the
delivery log."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from board.extensions import db
from board.outbox.services import deliver_due
from board.travaux.outbound import WebhookEndpoint
from board.urls import site_context
from tests.browser.conftest import screenshot
from tests.browser.test_incident_journey import log_in
from tests.factories import make_user
from tests.travaux.factories import make_service
from tests.travaux.receivers import Recorder


def test_an_admin_registers_an_endpoint_and_sends_a_test_event(app, live_server, page,
                                                               monkeypatch):
    make_service(slug="messagerie", name="Messagerie")
    admin = make_user(role="admin")
    db.session.rollback()
    receiver = Recorder()
    try:
        log_in(page, live_server, admin.email)
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_role("link", name="Nouveau point d’accès").click()
        page.get_by_label("Adresse (URL)").fill(receiver.url + "/hook")
        page.get_by_label("Incident ouvert").check()
        page.get_by_label("Incident résolu").check()
        page.get_by_label("Messagerie").check()
        page.get_by_role("button", name="Enregistrer").click()
        error = page.locator("#url-error")
        error.wait_for(state="visible")
        assert "réseau privé" in error.inner_text()  # 127.0.0.1, WEBHOOK_ALLOW_PRIVATE off

        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
        assert page.get_by_label("Incident ouvert").is_checked()  # the answers are kept
        page.get_by_role("button", name="Enregistrer").click()
        secret = page.locator("#webhook-secret")
        secret.wait_for(state="visible")
        screenshot(page, "webhook-secret-once")
        db.session.rollback()
        endpoint = db.session.scalar(select(WebhookEndpoint))
        assert secret.inner_text() == endpoint.secret
        assert endpoint.event_types == ["incident.opened", "incident.resolved"]
        assert [s.slug for s in endpoint.services] == ["messagerie"]

        page.get_by_role("button", name="Envoyer un événement de test").click()
        page.wait_for_url(re.compile(rf"/admin/webhooks/{endpoint.id}$"))
        expect(page.locator("#webhook-secret")).to_have_count(0)  # never shown again
        db.session.rollback()
        with site_context():
            assert deliver_due()["sent"] == 1
        [request] = receiver.wait_for(1)
        page.reload()
        row = page.locator(".webhook-log tbody tr").first
        assert "webhook.test" in row.inner_text() and "200" in row.inner_text()
        assert request.headers["webhook-id"] in row.inner_text()
    finally:
        receiver.close()
