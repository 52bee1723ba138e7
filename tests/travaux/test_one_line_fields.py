"""Incident titles and service names stay on one line whatever is pasted into them: they go
into the subject of every Travaux list mail, and a line break there made that mail fail for
every subscriber."""

from sqlalchemy import select

from board.extensions import db
from board.lists.models import ListMessage
from board.travaux.models import Incident, Service

PASTED = "Coupure\r\nBcc: victime@example.org\tréseau\u202e"
CLEAN = "Coupure Bcc: victime@example.org réseau"


def test_an_incident_s_title_is_kept_on_one_line_and_so_is_its_mail_subject(client, login_as):
    login_as("admin")
    response = client.form("/travaux/incidents/new", {
        "kind": "incident", "title": PASTED, "impact": "major", "status": "",
        "message": "Le réseau est coupé.", "notify": "y"})
    assert response.status_code == 302, response.data[:500]
    assert db.session.scalar(select(Incident.title)) == CLEAN
    subject = db.session.scalar(select(ListMessage.subject))
    assert CLEAN in subject and "\n" not in subject


def test_a_service_s_name_and_address_are_kept_on_one_line(client, login_as):
    login_as("admin")
    response = client.form("/travaux/services/new", {
        "name": "Hébergement\r\nweb", "slug": "web\n", "description": "", "position": "1"})
    assert response.status_code == 302, response.data[:500]
    service = db.session.scalar(select(Service))
    assert (service.name, service.slug) == ("Hébergement web", "web")
