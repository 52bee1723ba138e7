"""The Travaux notice a subscriber of the list receives: for a maintenance, when (start and
end, with the zone), which services, what impact, and the page to follow; for an incident,
the services and the impact too. Read on the mail the real SMTP server received."""

import secrets
from datetime import UTC, datetime

import pytest

from board.extensions import db
from board.lists import services as lists
from board.lists.models import Subscription
from board.outbox.services import deliver_due
from board.travaux import services as travaux
from board.urls import site_context
from tests.factories import make_user
from tests.outbox.conftest import _smtp_server, smtp_server  # noqa: F401 - fixtures
from tests.travaux.factories import make_service

START = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 22:00 in Paris
END = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 02:00 the next day


@pytest.fixture
def subscriber(app):
    db.session.add(Subscription(list=lists.get_list("travaux"), email="ann@example.org",
                                status="active", token=secrets.token_urlsafe(32)))
    db.session.commit()


def received(smtp_server):  # noqa: F811 - the fixture, passed in
    deliver_due()
    [mail] = smtp_server.messages
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    return mail["Subject"], text, html


def test_a_maintenance_announcement_says_when_what_and_how(subscriber, smtp_server):  # noqa: F811
    admin = make_user(role="admin")
    web, mail = make_service("web", "Hébergement web"), make_service("mail", "Messagerie")
    with site_context():
        maintenance = travaux.open_incident(
            admin, kind="maintenance", title="Mise à jour des serveurs", impact="major",
            services=[web, mail], message="Nous mettons à jour le noyau.",
            window=(START, END), notify=True)
    subject, text, html = received(smtp_server)
    assert "Mise à jour des serveurs" in subject
    window = ("du mardi 1 décembre 2026 à 22:00 au mercredi 2 décembre 2026 à 02:00 "
              "(heure de Paris)")
    page = f"http://board.test/travaux/incidents/{maintenance.id}"
    for part in (text, html):
        assert window in part
        assert "Hébergement web, Messagerie" in part
        assert "Impact attendu" in part and "en partie indisponibles" in part
        assert "Nous mettons à jour le noyau." in part
        assert page in part
    assert f'href="{page}"' in html and "<strong>Fenêtre prévue :</strong>" in html


def test_an_incident_notice_names_the_services_and_the_impact(subscriber, smtp_server):  # noqa: F811
    admin = make_user(role="admin")
    mail = make_service("mail", "Messagerie")
    with site_context():
        incident = travaux.open_incident(
            admin, kind="incident", title="Courriels en retard", impact="critical",
            services=[mail], message="Les courriels n'arrivent plus.", notify=True)
    subject, text, html = received(smtp_server)
    for part in (text, html):
        assert "Services concernés" in part and "Messagerie" in part
        assert "Impact" in part and "critique, les services sont indisponibles" in part
        assert "Fenêtre prévue" not in part
        assert f"http://board.test/travaux/incidents/{incident.id}" in part
