"""Incident templates: admins keep them at /admin/templates (audited); the incident, the
promotion and the update forms start from one (?template=<name>); the API takes
"template": "<name>", with what the call gives winning, and a clear 422 for an unknown one."""

import html
import re

import pytest
from sqlalchemy import select

from board.accounts import services as accounts
from board.audit import AuditLog
from board.extensions import db
from board.travaux.incident_templates import IncidentTemplate, save_template
from board.travaux.models import Incident
from tests.factories import make_thread, make_user
from tests.travaux.factories import make_incident, make_service


@pytest.fixture
def mail(app):
    return make_service("mail", "Messagerie", position=1)


@pytest.fixture
def web(app):
    return make_service("web", "Hébergement web", position=2)


@pytest.fixture
def outage(mail):
    admin = make_user(role="admin")
    return save_template(None, admin, name="Panne messagerie",
                         title="Messagerie : réception interrompue",
                         message="Nous **enquêtons** sur la réception des mails.",
                         status="investigating", impact="major", services=[mail])


def field_value(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page) or \
        re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', page)
    return html.unescape(match.group(1)) if match else ""


def selected(page: str, name: str) -> str:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S).group(0)
    match = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                      select_html)
    return (match.group(1) or match.group(2)) if match else ""


def test_an_admin_creates_edits_and_deletes_a_template_with_audit(client, login_as, mail):
    admin = login_as("admin")
    page = client.get("/admin/templates")
    assert page.status_code == 200 and "Aucun modèle" in page.get_data(as_text=True)
    response = client.form("/admin/templates/new", {
        "name": "Panne DNS", "title": "DNS : résolution lente", "impact": "minor",
        "status": "identified", "services": [str(mail.id)], "message": "Nous *savons*."})
    assert response.status_code == 302
    template = db.session.scalar(select(IncidentTemplate))
    assert (template.name, template.status, [s.slug for s in template.services]) == \
        ("Panne DNS", "identified", ["mail"])
    assert "Panne DNS" in client.get("/admin/templates").get_data(as_text=True)

    taken = client.form("/admin/templates/new", {"name": "Panne DNS", "impact": "minor"})
    assert taken.status_code == 422
    assert "Un autre modèle porte déjà ce nom." in taken.get_data(as_text=True)

    client.form(f"/admin/templates/{template.id}", {
        "name": "Panne DNS générale", "impact": "critical", "status": "", "message": ""})
    db.session.expire_all()
    assert (template.name, template.impact, template.status, template.services) == \
        ("Panne DNS générale", "critical", "", [])
    assert client.form(f"/admin/templates/{template.id}/delete").status_code == 302
    assert db.session.scalar(select(IncidentTemplate)) is None
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.actor_id == admin.id).order_by(AuditLog.id)).all()
    assert actions == ["template.create", "template.update", "template.delete"]
    log = client.get("/moderation").get_data(as_text=True)
    assert "a créé le modèle d’incident" in log and "a supprimé le modèle d’incident" in log


@pytest.mark.parametrize("role", [None, "member", "moderator"])
def test_only_admins_reach_the_templates(client, login_as, role, outage):
    if role:
        login_as(role)
    for path in ("/admin/templates", "/admin/templates/new", f"/admin/templates/{outage.id}"):
        response = client.get(path)
        assert response.status_code == (302 if role is None else 403), path
    assert client.form(f"/admin/templates/{outage.id}/delete").status_code in (302, 403)
    assert db.session.get(IncidentTemplate, outage.id) is not None


def test_the_incident_form_starts_from_a_template_and_publishes(client, login_as, outage,
                                                                mail, web):
    login_as("admin")
    page = client.get("/travaux/incidents/new?template=Panne+messagerie").get_data(as_text=True)
    assert "Partir d’un modèle" in page
    assert field_value(page, "title") == "Messagerie : réception interrompue"
    assert "Nous **enquêtons** sur la réception des mails." in html.unescape(page)
    assert selected(page, "impact") == "major" and selected(page, "status") == "investigating"
    assert re.search(rf'value="{mail.id}"[^>]*checked|checked[^>]*value="{mail.id}"', page)
    assert not re.search(rf'value="{web.id}"[^>]*checked|checked[^>]*value="{web.id}"', page)
    # What the admin then changes wins: the form is an ordinary form.
    response = client.form("/travaux/incidents/new", {
        "kind": "incident", "title": "Messagerie : réception interrompue à Paris",
        "impact": "major", "status": "investigating", "services": [str(mail.id)],
        "message": "Nous **enquêtons** sur la réception des mails.", "notify": "y"})
    assert response.status_code == 302
    incident = db.session.scalar(select(Incident))
    assert incident.title == "Messagerie : réception interrompue à Paris"
    assert incident.impact == "major" and [s.slug for s in incident.services] == ["mail"]


def test_an_unknown_template_says_so_and_leaves_the_form_empty(client, login_as, outage):
    login_as("admin")
    response = client.get("/travaux/incidents/new?template=Nope")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Il n’y a pas de modèle nommé « Nope »." in page
    assert field_value(page, "title") == ""
    page = client.get("/travaux/incidents/new?template=%3Cb%3Ex%3C/b%3E").get_data(as_text=True)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_promotion_form_starts_from_a_template(client, login_as, outage):
    login_as("admin")
    thread = make_thread(title="Plus de mails depuis ce matin")
    page = client.get(f"/threads/{thread.id}/promote").get_data(as_text=True)
    assert field_value(page, "title") == "Plus de mails depuis ce matin"
    page = client.get(f"/threads/{thread.id}/promote?template=Panne+messagerie") \
        .get_data(as_text=True)
    assert field_value(page, "title") == "Messagerie : réception interrompue"
    assert selected(page, "impact") == "major"


def test_the_update_form_starts_from_a_template_without_a_status_it_cannot_take(
        client, login_as, mail):
    admin = login_as("admin")
    save_template(None, admin, name="Résolu", title="", message="Tout est rentré dans l'ordre.",
                  status="resolved", impact="minor", services=[])
    save_template(None, admin, name="Fin de maintenance", title="", message="Terminé.",
                  status="completed", impact="none", services=[])
    incident = make_incident(services=[mail])
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert f'action="/travaux/incidents/{incident.id}/updates/new"' in page
    page = client.get(f"/travaux/incidents/{incident.id}/updates/new?template=R%C3%A9solu") \
        .get_data(as_text=True)
    assert selected(page, "status") == "resolved"
    assert "Tout est rentré dans l&#39;ordre." in page
    page = client.get(f"/travaux/incidents/{incident.id}/updates/new"
                      "?template=Fin+de+maintenance").get_data(as_text=True)
    assert selected(page, "status") == "investigating"  # "completed" is not an incident's
    assert "ne s’applique pas ici" in page and "Terminé." in page


# The API -------------------------------------------------------------------------------

@pytest.fixture
def token(app):
    return accounts.create_token(make_user(role="admin"), "monitoring")


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


def test_the_api_opens_an_incident_from_a_template(client, token, outage, mail, web):
    response = client.post("/api/v1/incidents", headers=bearer(token),
                           json={"template": "Panne messagerie"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["title"] == "Messagerie : réception interrompue"
    assert (body["impact"], body["status"]) == ("major", "investigating")
    assert body["services"] == ["mail"]
    assert "<strong>enquêtons</strong>" in db.session.get(Incident, body["id"]) \
        .last_update.body_html


def test_explicit_fields_win_over_the_template(client, token, outage, web):
    response = client.post("/api/v1/incidents", headers=bearer(token), json={
        "template": "Panne messagerie", "title": "Web et mail en panne", "impact": "critical",
        "services": ["web"], "status": "identified"})
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["title"], body["impact"], body["status"]) == \
        ("Web et mail en panne", "critical", "identified")
    assert body["services"] == ["web"]
    incident = db.session.get(Incident, body["id"])
    assert "enquêtons" in incident.last_update.body_source  # the template's message stays


@pytest.mark.parametrize("name", ["Inconnu", 42, ""])
def test_an_unknown_template_is_a_clear_422(client, token, outage, name):
    response = client.post("/api/v1/incidents", headers=bearer(token),
                           json={"template": name, "title": "x" * 5, "message": "y"})
    assert response.status_code == 422
    assert response.json["error"] == "unknown_template"
    assert "template" in response.json["message"]
    assert db.session.scalar(select(Incident)) is None


def test_the_api_update_takes_a_template(client, token, mail):
    admin = make_user(role="admin")
    save_template(None, admin, name="Résolu", title="", message="C'est réparé.",
                  status="resolved", impact="minor", services=[])
    incident = make_incident(services=[mail])
    response = client.post(f"/api/v1/incidents/{incident.id}/updates", headers=bearer(token),
                           json={"template": "Résolu"})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "resolved"
    assert response.json["last_update"]["status"] == "resolved"
    response = client.post(f"/api/v1/incidents/{incident.id}/updates", headers=bearer(token),
                           json={"template": "Résolu", "status": "monitoring", "reopen": True,
                                 "message": "Finalement, non."})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "monitoring"
    missing = client.post(f"/api/v1/incidents/{incident.id}/updates", headers=bearer(token),
                          json={"template": "Nope"})
    assert missing.status_code == 422 and missing.json["error"] == "unknown_template"


def test_two_admins_saving_one_name_at_once_make_one_template(app):
    """On PostgreSQL, with real connections: the unique name decides, the other is told."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL")
    from board.accounts.models import User
    from board.travaux.incident_templates import TemplateError
    from tests.concurrency import run_together

    admin_ids = [make_user(role="admin").id for _ in range(4)]
    db.session.commit()

    def save(n):
        try:
            save_template(None, db.session.get(User, admin_ids[n]), name="Panne DNS",
                          title=f"Version {n}", message="", status="", impact="minor",
                          services=[])
        except TemplateError as error:
            return str(error)
        return "saved"

    results = run_together(app, 4, save)
    assert sorted(results) == ["name-taken"] * 3 + ["saved"]
    db.session.rollback()
    assert len(db.session.scalars(select(IncidentTemplate)).all()) == 1
    assert len(db.session.scalars(select(AuditLog).where(
        AuditLog.action == "template.create")).all()) == 1
