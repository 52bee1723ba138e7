"""The Travaux API as a client sees it: the public status document, and incidents opened and
updated by monitoring with an admin's bearer token."""

import hashlib
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from board.accounts import services as accounts
from board.accounts.models import ApiToken
from board.audit import AuditLog
from board.clock import now, travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post, Thread
from board.travaux.models import Incident, IncidentUpdate
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import link_thread, make_incident, make_service, post_update

BASE = "http://board.test"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
INCIDENT_KEYS = {"id", "kind", "title", "status", "impact", "services", "created_at",
                 "updated_at", "resolved_at", "window", "url", "threads", "last_update"}


@pytest.fixture
def admin(app):
    return make_user(role="admin")


@pytest.fixture
def token(admin):
    return accounts.create_token(admin, "monitoring")


@pytest.fixture
def web(app):
    return make_service("web", "Hébergement web", position=1)


@pytest.fixture
def mail(app):
    return make_service("mail", "Messagerie", position=2)


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


def parse(moment: str) -> datetime:
    assert ISO_Z.match(moment), moment
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def thread_url(thread) -> str:
    return f"{BASE}/threads/{thread.id}/{thread.slug}"


def discussion(incident) -> Thread:
    return db.session.scalar(select(Thread).where(Thread.incident_id == incident.id)
                             .order_by(Thread.id))


def status_of(client) -> dict:
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def service_statuses(document) -> dict:
    return {s["slug"]: s["status"] for s in document["services"]}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> dict:
    return {model.__name__: count(model)
            for model in (Incident, IncidentUpdate, Thread, Post, AuditLog)}


# GET /api/v1/status ------------------------------------------------------------------------

def test_status_with_nothing_open_is_operational(client, web, mail):
    document = status_of(client)
    assert document == {
        "overall": "operational",
        "page_url": f"{BASE}/travaux/",
        "services": [{"slug": "web", "name": "Hébergement web", "status": "operational"},
                     {"slug": "mail", "name": "Messagerie", "status": "operational"}],
        "ongoing": [],
        "upcoming": [],
    }


def test_status_describes_an_ongoing_incident_and_only_its_public_threads(client, admin, web,
                                                                         mail):
    incident = make_incident(admin, services=[web], title="Erreurs 503 sur web7",
                             impact="major", message="Nous *enquêtons*.")
    opened = discussion(incident)
    public_board, staff_board = make_board(), make_board(visibility="staff")
    report = make_thread(board=public_board, title="Mon site ne répond plus")
    staff_note = make_thread(board=staff_board, title="Note interne sur web7")
    hidden = make_thread(board=public_board, title="Sujet masqué")
    forum.hide_thread(hidden, make_user(role="moderator"))
    for thread in (report, staff_note, hidden):
        link_thread(incident, thread, admin)

    document = status_of(client)
    assert document["overall"] == "partial_outage"
    assert service_statuses(document) == {"web": "partial_outage", "mail": "operational"}
    assert document["upcoming"] == []
    [item] = document["ongoing"]
    assert set(item) == INCIDENT_KEYS
    assert item["id"] == incident.id
    assert (item["kind"], item["title"], item["status"], item["impact"]) == (
        "incident", "Erreurs 503 sur web7", "investigating", "major")
    assert item["services"] == ["web"]
    assert parse(item["created_at"]) == incident.created_at
    assert parse(item["updated_at"]) == incident.updated_at
    assert item["resolved_at"] is None
    assert item["window"] is None
    assert item["url"] == f"{BASE}/travaux/incidents/{incident.id}"
    # The discussion thread and the public report; never the staff note nor the hidden one.
    assert item["threads"] == [thread_url(opened), thread_url(report)]
    assert opened.board.slug == client.application.config["TRAVAUX_BOARD"]
    last = item["last_update"]
    assert set(last) == {"status", "created_at", "message"}
    assert last["status"] == "investigating" and last["message"] == "Nous *enquêtons*."
    assert parse(last["created_at"]) == incident.last_update.created_at


@pytest.mark.parametrize("impact, level", [("none", "operational"), ("minor", "degraded"),
                                           ("major", "partial_outage"),
                                           ("critical", "major_outage")])
def test_impact_sets_the_service_status_and_the_overall_one(client, web, mail, impact, level):
    make_incident(services=[web], impact=impact)
    document = status_of(client)
    assert service_statuses(document) == {"web": level, "mail": "operational"}
    assert document["overall"] == level
    assert len(document["ongoing"]) == 1


def test_the_worst_incident_wins(client, admin, web, mail):
    make_incident(admin, services=[web], impact="minor")
    make_incident(admin, services=[web, mail], impact="critical")
    make_incident(admin, kind="maintenance", services=[mail], impact="none")
    document = status_of(client)
    assert service_statuses(document) == {"web": "major_outage", "mail": "major_outage"}
    assert document["overall"] == "major_outage"
    assert len(document["ongoing"]) == 3


def test_running_maintenance_shows_as_maintenance_with_its_window(client, admin, web, mail):
    start, end = now() - timedelta(minutes=30), now() + timedelta(hours=2)
    maintenance = make_incident(admin, kind="maintenance", services=[mail], impact="none",
                                window=(start, end), title="Migration des boîtes")
    document = status_of(client)
    assert document["overall"] == "maintenance"
    assert service_statuses(document) == {"web": "operational", "mail": "maintenance"}
    [item] = document["ongoing"]
    assert item["id"] == maintenance.id and item["kind"] == "maintenance"
    assert item["status"] == "in_progress"
    assert set(item["window"]) == {"start", "end"}
    assert parse(item["window"]["start"]) == start
    assert parse(item["window"]["end"]) == end
    assert document["upcoming"] == []


def test_upcoming_maintenance_is_listed_without_changing_statuses(client, admin, web, mail):
    later = now() + timedelta(days=2)
    soon = now() + timedelta(days=1)
    # Opened first but scheduled second: listed by window, not by creation.
    first = make_incident(admin, kind="maintenance", services=[web, mail],
                          window=(soon, soon + timedelta(hours=1)))
    second = make_incident(admin, kind="maintenance", services=[web],
                           window=(later, later + timedelta(hours=1)))
    document = status_of(client)
    assert document["overall"] == "operational"
    assert service_statuses(document) == {"web": "operational", "mail": "operational"}
    assert document["ongoing"] == []
    # Soonest first, with their windows.
    assert [i["id"] for i in document["upcoming"]] == [first.id, second.id]
    item = document["upcoming"][0]
    assert set(item) == INCIDENT_KEYS
    assert item["status"] == "scheduled" and item["services"] == ["web", "mail"]
    assert parse(item["window"]["start"]) == soon


def test_resolved_incident_and_finished_maintenance_appear_nowhere(client, admin, web):
    incident = make_incident(admin, services=[web], impact="critical")
    post_update(incident, admin, "resolved", "C'est réparé.")
    past = now() - timedelta(days=1)
    make_incident(admin, kind="maintenance", services=[web],
                  window=(past, past + timedelta(hours=2)))
    document = status_of(client)
    assert document["overall"] == "operational"
    assert service_statuses(document) == {"web": "operational"}
    assert document["ongoing"] == [] and document["upcoming"] == []


def test_status_is_cors_open_and_conditional(client, admin, web):
    incident = make_incident(admin, services=[web])
    response = client.get("/api/v1/status")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    etag = response.headers["ETag"]
    assert etag
    again = client.get("/api/v1/status", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["Access-Control-Allow-Origin"] == "*"

    post_update(incident, admin, "identified", "Un disque est en panne.")
    changed = client.get("/api/v1/status", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.get_json()["ongoing"][0]["status"] == "identified"


# POST /api/v1/incidents --------------------------------------------------------------------

def test_token_opens_an_incident_with_its_thread_and_audit_row(client, app, admin, token, web,
                                                               mail, monkeypatch):
    monkeypatch.setitem(app.config, "TRAVAUX_BOARD", "pannes-en-cours")
    response = client.post("/api/v1/incidents", headers=bearer(token), json={
        "title": "Mails en attente", "kind": "incident", "impact": "major",
        "services": ["mail", "web"], "message": "Les envois sont **retardés**."})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    incident = db.session.get(Incident, body["id"])
    assert incident is not None
    assert response.headers["Location"].endswith(f"/travaux/incidents/{incident.id}")
    assert set(body) == INCIDENT_KEYS
    assert (body["title"], body["kind"], body["impact"], body["status"]) == (
        "Mails en attente", "incident", "major", "investigating")
    assert body["services"] == ["web", "mail"]
    assert body["url"] == f"{BASE}/travaux/incidents/{incident.id}"
    assert body["last_update"]["message"] == "Les envois sont **retardés**."
    # Its discussion thread, in the Travaux board, opened by an official post.
    thread = discussion(incident)
    assert thread.board.slug == "pannes-en-cours"
    assert body["threads"] == [thread_url(thread)]
    first = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
    assert first.official and first.author_id == admin.id
    assert "<strong>retardés</strong>" in first.body_html
    # One audit row for the call, written with the incident, saying it came from the API.
    audit = db.session.scalars(select(AuditLog).where(AuditLog.target_type == "incident")).all()
    assert [(a.action, a.actor_id, a.target_type, a.target_id, a.details["via"])
            for a in audit] == [("incident.open", admin.id, "incident", incident.id, "api")]
    # The token says when it was last used.
    assert db.session.scalar(select(ApiToken.last_used_at)) is not None
    assert status_of(client)["ongoing"][0]["id"] == incident.id


def test_token_schedules_a_maintenance_with_a_window(client, token, web):
    response = client.post("/api/v1/incidents", headers=bearer(token), json={
        "title": "Mise à jour de PHP", "kind": "maintenance", "impact": "minor",
        "services": ["web"], "message": "Coupures brèves.",
        "window_start": "2031-06-01T22:00:00+02:00", "window_end": "2031-06-01T21:30:00Z"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "maintenance" and body["status"] == "scheduled"
    # Stored and shown in UTC.
    assert body["window"] == {"start": "2031-06-01T20:00:00Z", "end": "2031-06-01T21:30:00Z"}
    incident = db.session.get(Incident, body["id"])
    assert incident.window_start == parse("2031-06-01T20:00:00Z")
    document = status_of(client)
    assert [i["id"] for i in document["upcoming"]] == [incident.id]
    assert service_statuses(document) == {"web": "operational"}


# POST /api/v1/incidents/<id>/updates -------------------------------------------------------

def test_update_is_relayed_into_every_linked_thread(client, admin, token, web):
    incident = make_incident(admin, services=[web], impact="major")
    report = make_thread(title="Site lent")
    link_thread(incident, report, admin)
    official_before = count_official(incident)
    response = client.post(f"/api/v1/incidents/{incident.id}/updates", headers=bearer(token),
                           json={"status": "identified", "message": "Un *disque* est lent."})
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith(f"/travaux/incidents/{incident.id}")
    body = response.get_json()
    assert body["id"] == incident.id and body["status"] == "identified"
    assert body["last_update"]["message"] == "Un *disque* est lent."
    assert body["last_update"]["status"] == "identified"
    assert count(IncidentUpdate) == 2
    # One more official post in each linked thread (the discussion and the report).
    assert count_official(incident) == official_before + 2
    for thread in (discussion(incident), report):
        last = db.session.scalar(select(Post).where(Post.thread_id == thread.id)
                                 .order_by(Post.id.desc()))
        assert last.official and "<em>disque</em>" in last.body_html
    updates = db.session.scalars(select(AuditLog).where(AuditLog.action == "incident.update",
                                                        AuditLog.target_id == incident.id))
    assert [a.details["via"] for a in updates] == ["api"]


def count_official(incident) -> int:
    return db.session.scalar(
        select(func.count(Post.id)).join(Post.thread)
        .where(Thread.incident_id == incident.id, Post.official))


def test_update_resolves_then_reopens(client, admin, token, web):
    incident = make_incident(admin, services=[web], impact="critical")
    url = f"/api/v1/incidents/{incident.id}/updates"
    resolved = client.post(url, headers=bearer(token),
                           json={"status": "resolved", "message": "Réparé."})
    assert resolved.status_code == 201
    assert resolved.get_json()["resolved_at"] is not None
    assert status_of(client)["overall"] == "operational"
    reopened = client.post(url, headers=bearer(token), json={
        "status": "investigating", "message": "Ça recommence.", "reopen": True})
    assert reopened.status_code == 201, reopened.get_json()
    assert reopened.get_json()["resolved_at"] is None
    assert status_of(client)["overall"] == "major_outage"


def test_update_without_status_lets_a_maintenance_follow_its_window(client, admin, token, web):
    """A maintenance whose window began before the worker moved it along: an update that
    names no status must not freeze it as "scheduled"."""
    start = now() + timedelta(hours=1)
    maintenance = make_incident(admin, kind="maintenance", services=[web],
                                window=(start, start + timedelta(hours=2)))
    assert maintenance.status == "scheduled"
    with travel(timedelta(hours=2)):
        response = client.post(f"/api/v1/incidents/{maintenance.id}/updates",
                               headers=bearer(token), json={"message": "Ça avance."})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["status"] == "in_progress"
        document = status_of(client)
        assert [i["id"] for i in document["ongoing"]] == [maintenance.id]
        assert service_statuses(document) == {"web": "maintenance"}


# Errors: always JSON with an "error" key, and nothing written ------------------------------

def headers_for(who: str) -> dict:
    if who == "nobody":
        return {}
    if who == "basic":
        return {"Authorization": "Basic YWRtaW46c2VjcmV0"}
    if who == "forged":
        return bearer("brd_" + "x" * 43)
    user = make_user(role=who if who in ("member", "moderator") else "admin")
    raw = accounts.create_token(user)
    if who == "revoked":
        db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)).revoked_at = now()
    elif who == "disabled":
        user.disabled_at = now()
    db.session.commit()
    return bearer(raw)


def send(client, path, headers, body):
    """Post `body`: a dict or list goes as JSON, a (content type, text) pair as is."""
    if isinstance(body, tuple):
        return client.post(path, headers=headers, data=body[1], content_type=body[0])
    return client.post(path, headers=headers, json=body)


def assert_error(response, status):
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    assert isinstance(response.get_json()["error"], str)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


OPEN = {"title": "Mails en attente", "kind": "incident", "impact": "major",
        "services": ["mail"], "message": "Les envois sont retardés."}
MAINTENANCE = {**OPEN, "kind": "maintenance", "window_start": "2031-06-01T20:00:00Z",
               "window_end": "2031-06-01T22:00:00Z"}


def without(data, key):
    return {k: v for k, v in data.items() if k != key}


OPEN_ERRORS = [
    ("no token", "nobody", OPEN, 401),
    ("basic scheme", "basic", OPEN, 401),
    ("forged token", "forged", OPEN, 401),
    ("revoked token", "revoked", OPEN, 401),
    ("disabled admin", "disabled", OPEN, 401),
    ("member token", "member", OPEN, 403),
    ("moderator token", "moderator", OPEN, 403),
    ("form body", "admin", ("application/x-www-form-urlencoded", "title=Panne"), 400),
    ("broken json", "admin", ("application/json", '{"title": '), 400),
    ("json array", "admin", [OPEN], 400),
    ("json string", "admin", ("application/json", '"Panne"'), 400),
    ("missing title", "admin", without(OPEN, "title"), 422),
    ("blank title", "admin", {**OPEN, "title": "   "}, 422),
    ("title not a string", "admin", {**OPEN, "title": 42}, 422),
    ("title too long", "admin", {**OPEN, "title": "x" * 151}, 422),
    ("missing message", "admin", without(OPEN, "message"), 422),
    ("unknown service", "admin", {**OPEN, "services": ["mail", "nope"]}, 422),
    ("services not a list", "admin", {**OPEN, "services": "mail"}, 422),
    ("bad impact", "admin", {**OPEN, "impact": "catastrophic"}, 422),
    ("bad kind", "admin", {**OPEN, "kind": "outage"}, 422),
    ("status of the other kind", "admin", {**OPEN, "status": "scheduled"}, 422),
    ("maintenance without window", "admin", without(MAINTENANCE, "window_end"), 422),
    ("window end before start", "admin",
     {**MAINTENANCE, "window_end": "2031-06-01T19:00:00Z"}, 422),
    ("window end equals start", "admin",
     {**MAINTENANCE, "window_end": MAINTENANCE["window_start"]}, 422),
    ("window not ISO", "admin", {**MAINTENANCE, "window_start": "demain à 22 h"}, 422),
    ("window without zone", "admin", {**MAINTENANCE, "window_start": "2031-06-01T20:00:00"},
     422),
    ("window beyond the calendar", "admin",
     {**MAINTENANCE, "window_end": "9999-12-31T23:00:00-05:00"}, 422),
]


@pytest.mark.parametrize("who, body, status", [c[1:] for c in OPEN_ERRORS],
                         ids=[c[0] for c in OPEN_ERRORS])
def test_open_errors_write_nothing(client, who, body, status):
    make_service("mail")
    headers = headers_for(who)
    before = counts()
    response = send(client, "/api/v1/incidents", headers, body)
    assert_error(response, status)
    if status == 422:
        assert "fields" in response.get_json() or "message" in response.get_json()
    assert counts() == before


def test_unknown_service_is_named_in_the_error(client, token):
    make_service("mail")
    response = client.post("/api/v1/incidents", headers=bearer(token),
                           json={**OPEN, "services": ["nope", "mail"]})
    assert_error(response, 422)
    assert response.get_json()["fields"] == {"services": ["nope"]}


UPDATE = {"status": "identified", "message": "Cause trouvée."}
UPDATE_ERRORS = [
    ("no token", "nobody", UPDATE, False, 401),
    ("forged token", "forged", UPDATE, False, 401),
    ("revoked token", "revoked", UPDATE, False, 401),
    ("member token", "member", UPDATE, False, 403),
    ("moderator token", "moderator", UPDATE, False, 403),
    ("form body", "admin", ("application/x-www-form-urlencoded", "message=x"), False, 400),
    ("json array", "admin", [UPDATE], False, 400),
    ("missing message", "admin", {"status": "identified"}, False, 422),
    ("blank message", "admin", {**UPDATE, "message": " "}, False, 422),
    ("status of the other kind", "admin", {**UPDATE, "status": "in_progress"}, False, 422),
    ("unknown status", "admin", {**UPDATE, "status": "fixed"}, False, 422),
    ("resolved, no reopen", "admin", UPDATE, True, 422),
    ("resolved, reopen false", "admin", {**UPDATE, "reopen": False}, True, 422),
]


@pytest.mark.parametrize("who, body, resolved, status", [c[1:] for c in UPDATE_ERRORS],
                         ids=[c[0] for c in UPDATE_ERRORS])
def test_update_errors_write_nothing(client, admin, who, body, resolved, status):
    incident = make_incident(admin, services=[make_service()])
    if resolved:
        post_update(incident, admin, "resolved", "Réparé.")
    state = (incident.status, incident.updated_at, incident.resolved_at)
    headers = headers_for(who)
    before = counts()
    response = send(client, f"/api/v1/incidents/{incident.id}/updates", headers, body)
    assert_error(response, status)
    assert counts() == before
    db.session.expire_all()
    incident = db.session.get(Incident, incident.id)
    assert (incident.status, incident.updated_at, incident.resolved_at) == state


def test_framework_errors_on_the_api_are_json_too(client, token):
    assert_error(client.get("/api/v1/incidents"), 405)
    assert client.get("/api/v1/incidents").get_json()["error"] == "method_not_allowed"
    assert_error(client.post("/api/v1/incidents/abc/updates", headers=bearer(token),
                             json=UPDATE), 404)
    assert_error(client.post("/api/v1/incidents", headers=bearer(token),
                             data="x" * (600 * 1024), content_type="application/json"), 413)
    assert count(Incident) == 0


def test_update_of_unknown_incident_is_404(client, admin, token):
    incident = make_incident(admin)
    before = counts()
    response = client.post(f"/api/v1/incidents/{incident.id + 1000}/updates",
                           headers=bearer(token), json=UPDATE)
    assert_error(response, 404)
    assert counts() == before


# CSRF: tokens need none, and a browser session is not a credential -------------------------

def test_browser_session_cannot_write_through_the_api(client, admin):
    make_service("mail")
    assert client.login(admin.email).status_code == 302
    # The session really is an admin's, and HTML forms do check CSRF tokens.
    assert client.get("/travaux/incidents/new").status_code == 200
    assert client.post("/travaux/incidents/new", data={
        "kind": "incident", "title": "Sans jeton", "impact": "minor",
        "message": "Rien."}).status_code == 400
    before = counts()
    assert_error(client.post("/api/v1/incidents", json=OPEN), 401)
    assert_error(client.post("/api/v1/incidents", data=OPEN), 401)
    # Nor does the session stand in for a token that is not valid.
    assert_error(client.post("/api/v1/incidents", json=OPEN, headers=bearer("brd_nope")), 401)
    assert counts() == before
    incident = make_incident(admin)
    before = counts()
    assert_error(client.post(f"/api/v1/incidents/{incident.id}/updates", json=UPDATE), 401)
    assert counts() == before


def test_token_call_needs_no_csrf_token(client, token):
    make_service("mail")
    response = client.post("/api/v1/incidents", headers=bearer(token), json=OPEN)
    assert response.status_code == 201
    assert count(Incident) == 1


# flask users token ------------------------------------------------------------------------

def test_cli_prints_a_working_token_stored_hashed(client, runner, admin, web):
    result = runner.invoke(args=["users", "token", "--email", admin.email,
                                 "--name", "supervision"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    assert raw and "\n" not in raw
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == admin.id))
    assert row.name == "supervision"
    assert row.token_hash != raw
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    response = client.post("/api/v1/incidents", headers=bearer(raw), json={
        "title": "Depuis la supervision", "services": ["web"], "message": "Alerte."})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["impact"] == "minor"


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_cli_refuses_a_token_to_a_non_admin(runner, role):
    user = make_user(role=role)
    result = runner.invoke(args=["users", "token", "--email", user.email])
    assert result.exit_code != 0
    assert "admin" in result.output
    assert count(ApiToken) == 0


def test_cli_refuses_an_unknown_email(runner):
    result = runner.invoke(args=["users", "token", "--email", "nobody@example.org"])
    assert result.exit_code != 0
    assert count(ApiToken) == 0


def test_api_tokens_can_be_revoked(client, runner, admin, token):
    result = runner.invoke(args=["users", "revoke-tokens", "--email", admin.email])
    assert result.exit_code == 0 and "revoked 1" in result.output
    assert db.session.scalar(select(ApiToken.revoked_at)) is not None
    response = client.post("/api/v1/incidents", json={"title": "x"}, headers=bearer(token))
    assert response.status_code == 401
