"""What Travaux tells its listeners, and the two operations that came with it: a maintenance
rescheduled (site form and API) and cancelled."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from board.accounts import services as accounts
from board.audit import AuditLog
from board.clock import now, travel
from board.extensions import db
from board.forum.models import Post
from board.outbox.models import OutboxMessage
from board.travaux import events, forms, services
from board.travaux.models import Incident, IncidentUpdate
from board.travaux.services import TravauxError
from board.urls import site_context
from tests.factories import make_thread, make_user
from tests.travaux.factories import make_incident, make_service, post_update


@pytest.fixture
def heard(app):
    """Every event told while the test runs, as (type, incident id, notify, data)."""
    told = []

    def listen(event):
        told.append((event.type, event.incident.id if event.incident else None, event.notify,
                     dict(event.data)))

    events.add_listener(app, listen, domain="tests")
    yield told
    events.listeners(app).remove(events.listeners(app)[-1])


@pytest.fixture
def admin(app):
    return make_user(role="admin")


def types(told):
    return [t for t, *_ in told]


def maintenance(admin, start_in=timedelta(days=2), length=timedelta(hours=2), **fields):
    start = now() + start_in
    return make_incident(admin, kind="maintenance", window=(start, start + length), **fields)


def test_an_incident_tells_its_opening_updates_and_resolution(heard, admin):
    incident = make_incident(admin)
    post_update(incident, admin, "identified")
    post_update(incident, admin, "resolved")
    assert types(heard) == ["incident.opened", "incident.updated", "incident.resolved"]
    assert {i for _, i, *_ in heard} == {incident.id}


def test_a_promotion_tells_the_opening_then_the_promotion_with_its_thread(heard, admin):
    report = make_thread(title="Plus de mail depuis ce matin")
    with site_context():
        incident = services.promote(report, admin, kind="incident", title=report.title,
                                    impact="major", services=[], message="Nous regardons.",
                                    notify=True)
    assert heard == [("incident.opened", incident.id, True, {}),
                     ("thread.promoted", incident.id, True, {"thread_id": report.id})]


def test_the_worker_moves_a_maintenance_along_its_window_and_says_so(heard, admin):
    planned = maintenance(admin, start_in=timedelta(hours=1))
    with travel(timedelta(hours=1, minutes=1)), site_context():
        assert services.follow_windows() == 1
    with travel(timedelta(hours=3, minutes=1)), site_context():
        assert services.follow_windows() == 1
    assert heard == [("maintenance.announced", planned.id, False, {}),
                     ("maintenance.started", planned.id, True, {}),
                     ("maintenance.completed", planned.id, True, {})]


def test_a_listener_writes_in_the_transaction_of_the_change(app, admin):
    def queue_row(event):
        db.session.add(OutboxMessage(kind="test-event", payload={"type": event.type}))

    events.add_listener(app, queue_row, domain="tests")
    try:
        incident = make_incident(admin)
        post_update(incident, admin, "resolved")
        with pytest.raises(TravauxError):
            post_update(incident, admin, "investigating")  # closed: refused, nothing told
        db.session.rollback()
    finally:
        events.listeners(app).pop()
    rows = db.session.scalars(select(OutboxMessage.payload)
                              .where(OutboxMessage.kind == "test-event")
                              .order_by(OutboxMessage.id)).all()
    assert [r["type"] for r in rows] == ["incident.opened", "incident.resolved"]


def test_an_unknown_event_type_is_refused(app):
    with pytest.raises(ValueError, match="unknown event type"):
        events.emit("incident.exploded")


def test_a_cancelled_maintenance_is_closed_and_its_sequence_grows(heard, admin):
    web = make_service("web", "Hébergement web")
    planned = maintenance(admin, services=[web])
    assert planned.sequence == 0
    post_update(planned, admin, "cancelled", "Reportée sine die.")
    planned = db.session.get(Incident, planned.id)
    assert planned.status == "cancelled" and planned.is_closed
    assert planned.resolved_at is not None and planned.sequence == 1
    assert types(heard)[-1] == "maintenance.cancelled"
    # Closed: the worker leaves it alone, even once its window has come and gone.
    with travel(timedelta(days=3)), site_context():
        assert services.follow_windows() == 0
    assert services.overview().upcoming == []


def test_an_incident_cannot_be_cancelled(admin):
    incident = make_incident(admin)
    with pytest.raises(TravauxError, match="status"):
        post_update(incident, admin, "cancelled")


def reschedule(incident, admin, start, end, message=""):
    with site_context():
        return services.reschedule(incident, admin, start, end, message)


def test_a_reschedule_moves_the_window_says_both_and_is_relayed(heard, admin):
    planned = maintenance(admin)
    old_start, old_end = planned.window_start, planned.window_end
    start = old_start + timedelta(days=7)
    update = reschedule(planned, admin, start, start + timedelta(hours=3), "Un fournisseur.")
    planned = db.session.get(Incident, planned.id)
    assert (planned.window_start, planned.window_end) == (start, start + timedelta(hours=3))
    assert planned.sequence == 1 and planned.status == "scheduled"
    assert update.status == "scheduled"
    assert "reprogrammée" in update.body_source and "Un fournisseur." in update.body_source
    relayed = db.session.scalars(select(Post.body_source)
                                 .where(Post.thread_id == planned.source_thread_id)).all()
    assert any("reprogrammée" in body for body in relayed)
    assert heard[-1] == ("maintenance.rescheduled", planned.id, True,
                         {"previous_start": old_start.isoformat(),
                          "previous_end": old_end.isoformat()})
    assert db.session.scalar(select(func.count(AuditLog.id))
                             .where(AuditLog.action == "incident.reschedule")) == 1


@pytest.mark.parametrize("shift, length, code", [
    (timedelta(days=1), timedelta(0), "window-order"),
    (timedelta(days=-5), timedelta(hours=1), "window-past"),
])
def test_a_bad_window_is_refused_and_changes_nothing(admin, shift, length, code):
    planned = maintenance(admin)
    before = (planned.window_start, planned.window_end, planned.sequence)
    start = now() + shift
    with pytest.raises(TravauxError, match=code):
        reschedule(planned, admin, start, start + length)
    db.session.rollback()
    planned = db.session.get(Incident, planned.id)
    assert (planned.window_start, planned.window_end, planned.sequence) == before


def test_only_an_open_maintenance_moves(admin):
    incident = make_incident(admin)
    with pytest.raises(TravauxError, match="not-maintenance"):
        reschedule(incident, admin, now(), now() + timedelta(hours=1))
    planned = maintenance(admin)
    post_update(planned, admin, "cancelled")
    with pytest.raises(TravauxError, match="closed"):
        reschedule(planned, admin, now() + timedelta(days=9), now() + timedelta(days=10))


def test_admin_reschedules_from_the_maintenance_page(client, login_as):
    admin = login_as("admin")
    planned = maintenance(admin)
    page = client.get(f"/travaux/incidents/{planned.id}").get_data(as_text=True)
    assert f'action="/travaux/incidents/{planned.id}/reschedule"' in page
    # The form starts from the current window, in Paris time.
    shown = forms.to_paris(planned.window_start).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{shown}' in page
    start = forms.to_paris(planned.window_start + timedelta(days=1))
    response = client.form(f"/travaux/incidents/{planned.id}/reschedule", {
        "window_start": start.strftime("%Y-%m-%dT%H:%M"),
        "window_end": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "message": "", "notify": "y"})
    assert response.status_code == 302
    planned = db.session.get(Incident, planned.id)
    assert planned.window_end - planned.window_start == timedelta(hours=4)
    assert planned.sequence == 1


def test_a_bad_window_in_the_form_gets_a_message_and_changes_nothing(client, login_as):
    admin = login_as("admin")
    planned = maintenance(admin)
    response = client.form(f"/travaux/incidents/{planned.id}/reschedule", {
        "window_start": "2030-01-02T10:00", "window_end": "2030-01-02T09:00"})
    assert response.status_code == 422
    assert "La fin de la fenêtre doit venir après son début." in response.get_data(as_text=True)
    assert db.session.get(Incident, planned.id).sequence == 0


def test_members_cannot_reschedule(client, login_as):
    planned = maintenance(make_user(role="admin"))
    login_as("moderator")
    response = client.form(f"/travaux/incidents/{planned.id}/reschedule", {
        "window_start": "2030-01-02T10:00", "window_end": "2030-01-02T11:00"})
    assert response.status_code == 403
    assert db.session.get(Incident, planned.id).sequence == 0


def test_the_api_reschedules_with_patch(client, admin):
    token = accounts.create_token(admin, "monitoring")
    planned = maintenance(admin)
    response = client.patch(f"/api/v1/incidents/{planned.id}",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"window_start": "2030-03-01T22:00:00Z",
                                  "window_end": "2030-03-02T02:00:00+00:00"})
    assert response.status_code == 200, response.json
    assert response.json["window"]["start"].startswith("2030-03-01T22:00:00")
    updates = db.session.scalar(select(func.count(IncidentUpdate.id))
                                .where(IncidentUpdate.incident_id == planned.id))
    assert updates == 2


@pytest.mark.parametrize("body, status", [
    ({"window_start": "2030-03-01T22:00:00Z"}, 422),
    ({"window_start": "demain", "window_end": "2030-03-02T02:00:00Z"}, 422),
    ({"window_start": "2030-03-02T22:00:00Z", "window_end": "2030-03-01T02:00:00Z"}, 422),
])
def test_the_api_refuses_a_bad_window_cleanly(client, admin, body, status):
    token = accounts.create_token(admin, "monitoring")
    planned = maintenance(admin)
    response = client.patch(f"/api/v1/incidents/{planned.id}",
                            headers={"Authorization": f"Bearer {token}"}, json=body)
    assert response.status_code == status and response.json["error"] == "invalid"
    assert db.session.get(Incident, planned.id).sequence == 0


def test_the_api_says_404_and_401(client, admin):
    token = accounts.create_token(admin, "monitoring")
    body = {"window_start": "2030-03-01T22:00:00Z", "window_end": "2030-03-02T02:00:00Z"}
    assert client.patch("/api/v1/incidents/999", json=body,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 404
    planned = maintenance(admin)
    assert client.patch(f"/api/v1/incidents/{planned.id}", json=body).status_code == 401
