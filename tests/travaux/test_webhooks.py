"""Webhooks against a real HTTP server on loopback: what it receives for each event, the
signature checked by an implementation of the Standard Webhooks recipe written here (not
ours), retries until the endpoint recovers with nothing lost and nothing doubled, timeouts,
and the addresses refused (SSRF)."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from board.audit import AuditLog
from board.clock import now, travel
from board.extensions import db
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.travaux import events, safe_http, webhooks
from board.travaux import services as travaux
from board.travaux.outbound import WebhookDelivery, WebhookEndpoint
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import make_incident, make_service, post_update
from tests.travaux.receivers import receiver_fixture  # noqa: F401 - a pytest fixture

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
ALL = list(events.EVENT_TYPES[:-1])  # every type but report.spike


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver's side, as the Standard Webhooks specification writes it."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(part.split(",", 1)[1], expected)
               for part in headers["webhook-signature"].split(" ") if part.startswith("v1,"))


def endpoint(url, types=None, services=(), staff_only=False, secret=SECRET):
    found, _ = webhooks.save_endpoint(
        None, make_user(role="admin"), url=url, description="", secret=secret,
        event_types=types or ALL, services=list(services), staff_only=staff_only,
        enabled=True)
    return found


def deliver():
    with site_context():
        return deliver_due()


def webhook_rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")
                              .order_by(OutboxMessage.id)).all()


def test_an_opened_incident_arrives_signed_with_its_document(app, receiver):
    web = make_service(slug="web", name="Hébergement web")
    endpoint(receiver.url + "/hooks?x=1")
    incident = make_incident(services=[web], title="Sites lents", message="Nous regardons.")
    assert deliver()["sent"] == 1
    [request] = receiver.wait_for(1)
    assert request.path == "/hooks?x=1"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"].startswith("msg_")
    assert verify(SECRET, request.headers, request.body)
    assert not verify(SECRET, request.headers, request.body + b" ")
    document = request.json()
    assert document["type"] == "incident.opened"
    assert document["id"].startswith("evt_")
    data = document["data"]
    assert data["incident"]["id"] == incident.id
    assert data["incident"]["title"] == "Sites lents"
    assert data["incident"]["services"] == ["web"]
    assert data["incident"]["status"] == "investigating"
    assert data["incident"]["url"] == f"http://board.test/travaux/incidents/{incident.id}"
    assert data["update"]["message"] == "Nous regardons."
    assert data["update"]["status"] == "investigating"


def test_updates_and_resolution_each_arrive_once_in_order(app, receiver):
    endpoint(receiver.url)
    incident = make_incident()
    admin = make_user(role="admin")
    post_update(incident, admin, "identified", "Trouvé.")
    post_update(incident, admin, "resolved", "Réparé.")
    assert deliver()["sent"] == 3
    received = receiver.wait_for(3)
    assert [r.json()["type"] for r in received] == ["incident.opened", "incident.updated",
                                                    "incident.resolved"]
    resolved = received[2].json()["data"]
    assert resolved["update"]["message"] == "Réparé."
    assert resolved["incident"]["resolved_at"] is not None
    assert len({r.headers["webhook-id"] for r in received}) == 3
    assert deliver()["sent"] == 0
    assert len(receiver.requests) == 3


def test_an_endpoint_hears_only_its_services_and_its_event_types(app, receiver):
    web, mail = make_service(slug="web"), make_service(slug="mail")
    endpoint(receiver.url, types=["incident.resolved"], services=[mail])
    admin = make_user(role="admin")
    on_web = make_incident(services=[web])
    on_mail = make_incident(services=[mail])
    post_update(on_web, admin, "resolved")
    post_update(on_mail, admin, "resolved")
    deliver()
    [request] = receiver.wait_for(1)
    assert request.json()["type"] == "incident.resolved"
    assert request.json()["data"]["incident"]["id"] == on_mail.id
    assert len(receiver.requests) == 1


def test_a_suspected_incident_goes_only_to_staff_only_endpoints(app, receiver):
    web = make_service(slug="web")
    endpoint(receiver.url + "/public", types=ALL)
    endpoint(receiver.url + "/staff", types=["report.spike"], staff_only=True)
    with site_context():
        events.emit("report.spike", suspect_id=7, service_id=web.id, signals=12)
    db.session.commit()
    deliver()
    [request] = receiver.wait_for(1)
    assert request.path == "/staff"
    data = request.json()["data"]
    assert data["incident"] is None
    assert (data["service"], data["signals"], data["suspect_id"]) == ("web", 12, 7)


def test_a_failing_endpoint_is_retried_until_it_recovers_same_id_same_bytes(app, receiver):
    hook = endpoint(receiver.url)
    receiver.answers = [(500, 0), (503, 0)]
    webhooks.send_test(hook, make_user(role="admin"))
    assert deliver() == {"sent": 0, "retry": 1, "failed": 0}
    assert deliver() == {"sent": 0, "retry": 0, "failed": 0}  # not due again yet
    with travel(timedelta(minutes=2)):
        assert deliver()["retry"] == 1
    with travel(timedelta(minutes=10)):
        assert deliver()["sent"] == 1
    with travel(timedelta(hours=3)):
        assert deliver()["sent"] == 0
    received = receiver.wait_for(3)
    assert len(received) == 3
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert len({r.body for r in received}) == 1
    assert all(verify(SECRET, r.headers, r.body) for r in received)
    assert received[0].json()["type"] == "webhook.test"
    [row] = webhook_rows()
    assert row.state == "sent" and row.attempts == 3
    log = webhooks.delivery_log(hook)
    assert [d.status_code for d in log] == [200, 503, 500]
    assert log[1].error == "HTTP 503" and log[0].error is None
    assert all(d.message_id == received[0].headers["webhook-id"] for d in log)


def test_webhook_rows_are_retried_for_a_day_whatever_the_outbox_age_limit(app, receiver,
                                                                          monkeypatch):
    hook = endpoint(receiver.url)
    monkeypatch.setitem(app.config, "OUTBOX_MAX_AGE_HOURS", 1)
    receiver.answers = [(500, 0)] * 100
    webhooks.send_test(hook, make_user(role="admin"))
    deliver()
    with travel(timedelta(hours=2)):
        assert deliver()["retry"] == 1
    with travel(timedelta(hours=23, minutes=50)):
        assert deliver()["retry"] == 1
    with travel(timedelta(hours=24, minutes=5)):
        assert deliver()["failed"] == 1
    [row] = webhook_rows()
    assert row.state == "failed" and "expired" in row.last_error


def test_an_endpoint_too_slow_times_out_and_is_retried(app, receiver, monkeypatch):
    monkeypatch.setattr(safe_http, "TIMEOUT", 0.3)
    hook = endpoint(receiver.url)
    receiver.answers = [(200, 1.0)]
    webhooks.send_test(hook, make_user(role="admin"))
    assert deliver()["retry"] == 1
    [attempt] = webhooks.delivery_log(hook)
    assert attempt.status_code is None and attempt.error == "timed out after 0.3 s"
    assert attempt.duration_ms >= 250
    with travel(timedelta(minutes=2)):
        assert deliver()["sent"] == 1
    received = receiver.wait_for(2)
    assert received[0].headers["webhook-id"] == received[1].headers["webhook-id"]


def test_a_redirect_is_a_failure_and_is_not_followed(app, receiver):
    hook = endpoint(receiver.url)
    receiver.answers = [(302, 0)]
    webhooks.send_test(hook, make_user(role="admin"))
    assert deliver()["retry"] == 1
    assert len(receiver.wait_for(1)) == 1
    assert webhooks.delivery_log(hook)[0].status_code == 302


@pytest.mark.parametrize("url, code", [
    ("http://example.org/hook", "scheme"),
    ("ftp://example.org/hook", "scheme"),
    ("https://user:pw@example.org/hook", "scheme"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "private"),
    ("https://127.0.0.1/hook", "private"),
    ("https://[::1]/hook", "private"),
    ("https://224.0.0.1/hook", "private"),
    ("https://localhost/hook", "private"),
    ("http://localhost:9/hook", "private"),
    ("https://no-such-host.invalid/hook", "host"),
])
def test_unsafe_addresses_are_refused(app, url, code):
    with pytest.raises(safe_http.UnsafeURL) as refused:
        safe_http.check_url(url)
    assert str(refused.value) == code


def test_a_public_address_is_accepted(app):
    host, port, addresses = safe_http.check_url("https://93.184.215.14:8443/x")
    assert (host, port, addresses) == ("93.184.215.14", 8443, ["93.184.215.14"])


def test_an_address_that_became_private_is_refused_at_delivery(app, receiver, monkeypatch):
    hook = endpoint(receiver.url)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    webhooks.send_test(hook, make_user(role="admin"))
    assert deliver()["retry"] == 1
    assert receiver.requests == []
    [attempt] = webhooks.delivery_log(hook)
    assert attempt.error == "refused: the host resolves to a private or reserved address"


def test_a_disabled_or_deleted_endpoint_gets_nothing_more(app, receiver):
    hook = endpoint(receiver.url)
    admin = make_user(role="admin")
    webhooks.send_test(hook, admin)
    hook.enabled = False
    db.session.commit()
    make_incident()
    assert deliver()["sent"] == 1  # the test event, dropped
    webhooks.delete_endpoint(hook, admin)
    assert receiver.requests == []
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_a_generated_secret_is_a_standard_one(app):
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    with pytest.raises(webhooks.WebhookError):
        webhooks.secret_key("whsec_" + base64.b64encode(b"short").decode())
    with pytest.raises(webhooks.WebhookError):
        webhooks.secret_key("not-a-secret-at-all-but-long-enough")


# The staff pages -----------------------------------------------------------------------------

NEW = "/admin/webhooks/new"


def form(url, **extra):
    return {"url": url, "description": "Panel", "event_types": ["incident.opened",
                                                                  "incident.resolved"],
            "enabled": "y", **extra}


@pytest.mark.parametrize("path", ["/admin/webhooks", NEW, "/admin/relay"])
@pytest.mark.parametrize("role, status", [("member", 403), ("moderator", 403)])
def test_only_admins_reach_the_pages(client, login_as, path, role, status):
    assert client.get(path).status_code == 302  # a guest goes to the login page
    login_as(role)
    assert client.get(path).status_code == status


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(app, client, login_as,
                                                                monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    web = make_service(slug="web", name="Hébergement web")
    admin = login_as("admin")
    page = client.get(NEW).get_data(as_text=True)
    assert 'value="report.spike"' in page and "Hébergement web" in page
    response = client.form(NEW, form("http://127.0.0.1:9/hook", services=[str(web.id)]))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    hook = db.session.scalar(select(WebhookEndpoint))
    assert hook.secret.startswith("whsec_") and hook.secret in text
    assert hook.event_types == ["incident.opened", "incident.resolved"]
    assert [s.slug for s in hook.services] == ["web"]
    again = client.get(f"/admin/webhooks/{hook.id}").get_data(as_text=True)
    assert hook.secret not in again and hook.masked_secret in again
    assert hook.secret not in client.get("/admin/webhooks").get_data(as_text=True)
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "webhook.create"))
    assert entry.actor_id == admin.id and hook.secret not in json.dumps(entry.details)


def test_the_form_refuses_what_it_must_with_a_message(app, client, login_as):
    login_as("admin")
    cases = [
        (form("https://10.0.0.1/x"), "réseau privé"),
        (form("https://localhost/x"), "réseau privé"),
        (form("http://example.org/x"), "https"),
        (form("https://127.0.0.1/x", secret="whsec_court"), "whsec_"),
        (form("https://93.184.215.14/x", event_types=["report.spike"]), "réservé à l’équipe"),
        (form("https://93.184.215.14/x", event_types=[]), "au moins un"),
    ]
    for data, words in cases:
        response = client.form(NEW, data)
        assert response.status_code == 422, data
        assert words in response.get_data(as_text=True), (data, words)
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_the_forms_need_their_csrf_token(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    login_as("admin")
    response = client.post(NEW, data=form("http://127.0.0.1:9/x"))
    assert response.status_code in (400, 422)
    hook = endpoint("http://127.0.0.1:9/x")
    assert client.post(f"/admin/webhooks/{hook.id}/test").status_code == 400
    assert client.post(f"/admin/webhooks/{hook.id}/delete").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 1
    assert webhook_rows() == []


def test_an_admin_edits_tests_and_deletes_an_endpoint(app, client, login_as, receiver):
    hook = endpoint(receiver.url)
    login_as("admin")
    response = client.form(f"/admin/webhooks/{hook.id}",
                           form(receiver.url + "/v2", staff_only="y",
                                event_types=["report.spike", "incident.opened"]))
    assert response.status_code == 200, response.data[:300]
    db.session.expire_all()
    assert hook.url.endswith("/v2") and hook.staff_only and hook.secret == SECRET
    assert hook.event_types == ["incident.opened", "report.spike"]
    response = client.form(f"/admin/webhooks/{hook.id}/test")
    assert response.status_code == 302
    deliver()
    [request] = receiver.wait_for(1)
    assert request.json()["type"] == "webhook.test"
    page = client.get(f"/admin/webhooks/{hook.id}").get_data(as_text=True)
    assert request.headers["webhook-id"] in page and ">200<" in page
    assert client.form(f"/admin/webhooks/{hook.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.target_type == "webhook").order_by(AuditLog.id)).all()
    assert actions == ["webhook.create", "webhook.update", "webhook.test", "webhook.delete"]


def test_the_staff_bar_links_the_pages(client, login_as):
    login_as("admin")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/admin/webhooks"' in page and 'href="/admin/relay"' in page


def test_the_log_keeps_a_month_of_attempts(app, receiver):
    hook = endpoint(receiver.url)
    admin = make_user(role="admin")
    webhooks.send_test(hook, admin)
    deliver()
    with travel(timedelta(days=31)):
        webhooks.send_test(hook, admin)
        deliver()
        assert len(webhooks.delivery_log(hook)) == 1


def test_a_rescheduled_maintenance_says_its_previous_window_and_sequence(app, receiver):
    endpoint(receiver.url, types=["maintenance.rescheduled"])
    start = now().replace(microsecond=0) + timedelta(days=2)
    maintenance = make_incident(kind="maintenance", window=(start, start + timedelta(hours=1)))
    with site_context():
        travaux.reschedule(maintenance, make_user(role="admin"), start + timedelta(days=1),
                           start + timedelta(days=1, hours=1), message="Décalée.")
    deliver()
    [request] = receiver.wait_for(1)
    data = request.json()["data"]
    assert data["incident"]["sequence"] == 1
    assert data["previous_start"].startswith(start.date().isoformat())
    assert data["incident"]["window_start"].startswith(
        (start + timedelta(days=1)).date().isoformat())


@pytest.mark.parametrize("visibility, public_gets_it", [("public", True), ("staff", False)])
def test_a_promoted_report_only_staff_may_see_goes_only_to_staff_only_endpoints(
        app, receiver, visibility, public_gets_it):
    endpoint(receiver.url + "/public", types=["thread.promoted"])
    endpoint(receiver.url + "/staff", types=["thread.promoted"], staff_only=True)
    report = make_thread(board=make_board(visibility=visibility), title="Erreur 503")
    with site_context():
        travaux.promote(report, make_user(role="admin"), kind="incident", title="Erreur 503",
                        impact="major", services=[], message="Nous regardons.")
    deliver()
    received = receiver.wait_for(2 if public_gets_it else 1, timeout=3)
    assert sorted(r.path for r in received) == (["/public", "/staff"] if public_gets_it
                                                else ["/staff"])
    for request in received:
        thread = request.json()["data"]["thread"]
        assert thread["id"] == report.id and thread["url"].endswith(f"/threads/{report.id}/"
                                                                    f"{report.slug}")


def test_the_endpoint_page_counts_its_own_waiting_events(app, client, login_as, receiver):
    """Two endpoints, both down: each page counts the events still waiting for it alone."""
    receiver.answers = [(500, 0.0)] * 10
    first, second = endpoint(receiver.url + "/a"), endpoint(receiver.url + "/b",
                                                            types=["incident.opened"])
    incident = make_incident()
    post_update(incident, incident.author, "identified")
    deliver()  # every attempt fails: the rows stay pending
    assert webhooks.pending_count(first) == 2 and webhooks.pending_count(second) == 1
    login_as("admin")
    page = client.get(f"/admin/webhooks/{first.id}").get_data(as_text=True)
    assert "2 événements en attente" in page
