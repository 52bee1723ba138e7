"""The social relay against a small Mastodon-compatible server on loopback (POST
/api/v1/statuses, an id per Idempotency-Key): statuses, replies threaded by in_reply_to_id,
retries that never post twice, the 500-character limit, and the staff page."""

from datetime import timedelta

from sqlalchemy import func, select

from board.audit import AuditLog
from board.clock import now, travel
from board.extensions import db
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.travaux import relay, safe_http
from board.travaux.outbound import RelayedStatus
from board.urls import site_context
from tests.factories import make_user
from tests.travaux.factories import make_incident, make_service, post_update
from tests.travaux.receivers import mastodon_fixture  # noqa: F401 - a pytest fixture


def configure(server):
    relay.save_settings(make_user(role="admin"), server.url, "relay-token", True)


def deliver():
    with site_context():
        return deliver_due()


def statuses_of(server, count=0):
    """What the server received (after at least `count` requests arrived)."""
    return [r.json() for r in server.wait_for(count)]


def test_an_opened_incident_is_posted_as_a_status_in_french_with_its_link(app, mastodon):
    configure(mastodon)
    web = make_service(name="Hébergement web")
    incident = make_incident(services=[web], title="Sites lents", message="Nous regardons.")
    assert deliver()["sent"] == 1
    [request] = mastodon.wait_for(1)
    assert request.path == "/api/v1/statuses"
    assert request.headers["authorization"] == "Bearer relay-token"
    assert request.headers["idempotency-key"].startswith("travaux-")
    sent = request.json()
    assert sent["visibility"] == "public" and sent["language"] == "fr"
    assert "in_reply_to_id" not in sent
    link = f"http://board.test/travaux/incidents/{incident.id}"
    assert sent["status"] == (f"Incident\u00a0: Sites lents\nServices\u00a0: Hébergement web"
                              f"\n\nNous regardons.\n\n{link}")
    status = db.session.scalar(select(RelayedStatus))
    assert status.status_id == "1000" and status.posted_at is not None


def test_updates_answer_the_previous_status_of_their_incident(app, mastodon):
    configure(mastodon)
    admin = make_user(role="admin")
    incident = make_incident()
    other = make_incident()
    post_update(incident, admin, "identified", "Trouvé.")
    post_update(incident, admin, "resolved", "Réparé.")
    assert deliver()["sent"] == 4
    sent = statuses_of(mastodon)
    by_key = {r.headers["idempotency-key"]: r for r in mastodon.requests}
    assert len(by_key) == 4
    first, second, update, resolution = sent
    assert "in_reply_to_id" not in first and "in_reply_to_id" not in second
    ids = db.session.scalars(select(RelayedStatus.status_id).where(
        RelayedStatus.incident_id == incident.id).order_by(RelayedStatus.id)).all()
    assert update["in_reply_to_id"] == ids[0]
    assert resolution["in_reply_to_id"] == ids[1]
    assert update["status"].startswith("Mise à jour (identifié)\u00a0:")
    assert resolution["status"].startswith("Résolu\u00a0:") and "Réparé." in resolution["status"]
    assert other.id != incident.id


def test_an_incident_not_relayed_gets_no_reply_but_its_resolution_is_posted(app, mastodon):
    admin = make_user(role="admin")
    incident = make_incident()  # before the relay is set
    configure(mastodon)
    post_update(incident, admin, "monitoring", "On surveille.")
    assert db.session.scalar(select(func.count()).select_from(RelayedStatus)) == 0
    post_update(incident, admin, "resolved", "Réparé.")
    deliver()
    [sent] = statuses_of(mastodon, 1)
    assert sent["status"].startswith("Résolu") and "in_reply_to_id" not in sent


def test_a_maintenance_announced_says_its_window(app, mastodon):
    configure(mastodon)
    start = now().replace(microsecond=0) + timedelta(days=2)
    make_incident(kind="maintenance", title="Migration des bases", window=(
        start, start + timedelta(hours=2)))
    deliver()
    [sent] = statuses_of(mastodon, 1)
    assert sent["status"].startswith("Maintenance prévue\u00a0: Migration des bases, du ")
    assert "(heure de Paris)" in sent["status"]


def test_a_status_keeps_within_500_characters_cutting_the_words_not_the_link(app, mastodon):
    configure(mastodon)
    incident = make_incident(title="T" * 150, message="Très long message. " * 200)
    deliver()
    [sent] = statuses_of(mastodon, 1)
    text = sent["status"]
    link = f"http://board.test/travaux/incidents/{incident.id}"
    assert len(text) <= 500 and text.endswith("…\n\n" + link)


def test_a_retry_carries_the_same_key_and_never_posts_twice(app, mastodon, monkeypatch):
    configure(mastodon)
    monkeypatch.setattr(safe_http, "TIMEOUT", 0.3)
    # The server takes the status, but answers after the relay stopped waiting.
    mastodon.answers = [(None, 1.0)]
    make_incident()
    assert deliver()["retry"] == 1
    mastodon.wait_for(1)
    with travel(timedelta(minutes=2)):
        assert deliver()["sent"] == 1
    requests = mastodon.wait_for(2)
    assert len(requests) == 2
    assert requests[0].headers["idempotency-key"] == requests[1].headers["idempotency-key"]
    assert len(mastodon.statuses) == 1  # one status on the server
    assert db.session.scalar(select(RelayedStatus.status_id)) == "1000"


def test_a_reply_waits_for_the_status_it_answers(app, mastodon):
    configure(mastodon)
    incident = make_incident()
    post_update(incident, make_user(role="admin"), "identified", "Trouvé.")
    mastodon.answers = [(500, 0)]
    assert deliver() == {"sent": 0, "retry": 2, "failed": 0}
    assert len(mastodon.wait_for(1)) == 1  # the reply did not go out unthreaded
    reply_row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "relay")
                                   .order_by(OutboxMessage.id)).all()[1]
    assert reply_row.attempts == 0 and reply_row.last_error.startswith("waiting")
    with travel(timedelta(minutes=5)):
        assert deliver()["sent"] == 2
    first, opening, reply = mastodon.wait_for(3)
    assert first.headers["idempotency-key"] == opening.headers["idempotency-key"]
    assert reply.json()["in_reply_to_id"] == mastodon.statuses[
        opening.headers["idempotency-key"]]


def test_settings_from_the_environment_take_precedence(app, mastodon, client, login_as,
                                                        monkeypatch):
    relay.save_settings(make_user(role="admin"), "https://93.184.215.14", "other", True)
    monkeypatch.setitem(app.config, "MASTODON_URL", mastodon.url)
    monkeypatch.setitem(app.config, "MASTODON_TOKEN", "relay-token")
    make_incident()
    deliver()
    assert len(mastodon.wait_for(1)) == 1
    login_as("admin")
    page = client.get("/admin/relay").get_data(as_text=True)
    assert "MASTODON_URL" in page and 'name="instance_url"' not in page


def test_an_admin_sets_the_relay_and_the_token_is_never_shown(app, client, login_as,
                                                              monkeypatch):
    admin = login_as("admin")
    response = client.form("/admin/relay", {"instance_url": "https://10.0.0.5",
                                            "access_token": "secret-token", "enabled": "y"})
    assert response.status_code == 422
    assert "réseau privé" in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    response = client.form("/admin/relay", {"instance_url": "http://127.0.0.1:9",
                                            "access_token": "secret-token", "enabled": "y"})
    assert response.status_code == 302
    assert relay.account() == ("http://127.0.0.1:9", "secret-token")
    page = client.get("/admin/relay").get_data(as_text=True)
    assert "secret-token" not in page and "http://127.0.0.1:9" in page
    # An empty token keeps the saved one.
    client.form("/admin/relay", {"instance_url": "http://127.0.0.1:9", "enabled": "y"})
    assert relay.account() == ("http://127.0.0.1:9", "secret-token")
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "relay.update")).all()
    assert [e.actor_id for e in entries] == [admin.id, admin.id]
    assert all("secret-token" not in str(e.details) for e in entries)
    response = client.post("/admin/relay", data={"instance_url": "http://127.0.0.1:9"})
    assert response.status_code in (400, 422)
