"""What a monitoring script may send the API and what it gets back: real booleans for the
flags that mail a whole list, one-line titles, and a clean 4xx for JSON no server should
have to take (nested too deep for the parser, NUL characters), never a 500."""

import pytest
from sqlalchemy import func, select

from board.accounts import services as accounts
from board.extensions import db
from board.lists.models import ListMessage
from board.outbox.models import OutboxMessage
from board.travaux.models import Incident, IncidentUpdate
from tests.factories import make_user
from tests.travaux.factories import make_incident, make_service

OPEN = {"title": "Mails en attente", "kind": "incident", "impact": "major",
        "services": ["mail"], "message": "Les envois sont retardés."}


@pytest.fixture
def admin(app):
    return make_user(role="admin")


@pytest.fixture
def headers(admin):
    make_service("mail", "Messagerie")
    return {"Authorization": f"Bearer {accounts.create_token(admin, 'monitoring')}"}


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def written() -> dict:
    return {m.__name__: count(m) for m in (Incident, IncidentUpdate, ListMessage,
                                            OutboxMessage)}


@pytest.mark.parametrize("value", ["false", "true", 0, 1, "", None, [], {}])
def test_notify_must_be_a_json_boolean_when_opening(client, headers, value):
    before = written()
    response = client.post("/api/v1/incidents", headers=headers, json={**OPEN, "notify": value})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["fields"] == {"notify": "boolean"}
    assert written() == before  # and the Travaux list was mailed nothing


@pytest.mark.parametrize("field", ["notify", "reopen"])
@pytest.mark.parametrize("value", ["false", "yes", 1, None])
def test_notify_and_reopen_must_be_json_booleans_in_an_update(client, admin, headers, field,
                                                              value):
    incident = make_incident(admin, title="Panne")
    before = written()
    response = client.post(f"/api/v1/incidents/{incident.id}/updates", headers=headers,
                           json={"status": "resolved", "message": "Réparé.", field: value})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["fields"] == {field: "boolean"}
    assert written() == before


def test_notify_false_mails_nobody_and_true_mails_the_list(client, headers):
    quiet = client.post("/api/v1/incidents", headers=headers, json={**OPEN, "notify": False})
    assert quiet.status_code == 201
    assert count(ListMessage) == 0
    loud = client.post("/api/v1/incidents", headers=headers, json={**OPEN, "notify": True})
    assert loud.status_code == 201
    assert count(ListMessage) == 1


def test_a_title_is_kept_on_one_line(client, headers):
    response = client.post("/api/v1/incidents", headers=headers, json={
        **OPEN, "title": "Mails\r\nBcc: victime@example.org\ten attente\u202e", "notify": True})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "Mails Bcc: victime@example.org en attente"
    db.session.rollback()
    [notice] = db.session.scalars(select(ListMessage)).all()
    assert "\n" not in notice.subject and "\r" not in notice.subject


def test_a_title_of_control_characters_only_is_refused(client, headers):
    response = client.post("/api/v1/incidents", headers=headers, json={**OPEN, "title": "\r\n\t"})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"title": "required string"}


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_json_nested_too_deep_is_a_400(client, headers, depth):
    before = written()
    body = '{"title": ' + "[" * depth + "]" * depth + "}"
    response = client.post("/api/v1/incidents", headers=headers, data=body,
                           content_type="application/json")
    assert response.status_code == 400, response.data[:300]
    assert response.get_json()["error"] == "bad_request"
    assert written() == before


@pytest.mark.parametrize("body", [
    {**OPEN, "title": "Mails\u0000en attente"},
    {**OPEN, "message": "Les envois\u0000"},
    {**OPEN, "services": ["mail\u0000"]},
    {**OPEN, "extra\u0000": 1},
])
def test_a_nul_character_in_json_is_a_400(client, headers, body):
    before = written()
    response = client.post("/api/v1/incidents", headers=headers, json=body)
    assert response.status_code == 400, response.data[:300]
    assert written() == before
