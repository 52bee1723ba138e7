"""Incidents and maintenance through their lives, with the clock moved rather than slept."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from board.clock import now, travel
from board.extensions import db
from board.forum.models import Post, Thread
from board.travaux import services
from board.travaux.models import Incident, IncidentUpdate, Service
from board.travaux.services import TravauxError
from board.urls import site_context
from tests.factories import make_board, make_user


@pytest.fixture
def admin(app):
    return make_user(role="admin")


@pytest.fixture
def web(app):
    service = Service(slug="web", name="Hébergement web", position=1)
    db.session.add(service)
    db.session.commit()
    return service


def open_incident(admin, **fields):
    fields = {"kind": "incident", "title": "Lenteurs", "impact": "minor", "services": [],
              "message": "Nous regardons.", **fields}
    with site_context():
        return services.open_incident(admin, **fields)


def update(incident, admin, status, message="Du nouveau.", reopen=False):
    with site_context():
        return services.post_update(incident, admin, status, message, reopen=reopen)


def test_incident_goes_through_its_statuses_and_closes(admin, web):
    incident = open_incident(admin, services=[web], impact="major")
    assert incident.status == "investigating" and incident.resolved_at is None
    assert services.overview().status_of(web) == "partial_outage"
    for status in ("identified", "monitoring", "resolved"):
        update(incident, admin, status)
    assert incident.resolved_at is not None
    assert services.overview().status_of(web) == "operational"
    statuses = db.session.scalars(select(IncidentUpdate.status).order_by(IncidentUpdate.id))
    assert list(statuses) == ["investigating", "identified", "monitoring", "resolved"]


def test_closed_incident_needs_reopening(admin, web):
    incident = open_incident(admin)
    update(incident, admin, "resolved")
    with pytest.raises(TravauxError, match="closed"):
        update(incident, admin, "investigating")
    assert db.session.scalar(select(func.count(IncidentUpdate.id))) == 2
    # A note on a closed incident (a post-mortem) stays closed and is fine.
    update(incident, admin, "resolved", "Post-mortem : un disque défaillant.")
    update(incident, admin, "investigating", "Le problème revient.", reopen=True)
    assert incident.resolved_at is None and incident.status == "investigating"


def test_status_of_the_wrong_kind_is_refused(admin):
    incident = open_incident(admin)
    with pytest.raises(TravauxError, match="status"):
        update(incident, admin, "in_progress")


def test_worst_open_operation_sets_the_service_status(admin, web):
    open_incident(admin, services=[web], impact="minor")
    assert services.overview().status_of(web) == "degraded"
    critical = open_incident(admin, services=[web], impact="critical")
    overview = services.overview()
    assert overview.status_of(web) == "major_outage" and overview.overall == "major_outage"
    update(critical, admin, "resolved")
    assert services.overview().status_of(web) == "degraded"


def test_incident_naming_no_service_still_sets_the_overall_status(admin, web):
    open_incident(admin, services=[], impact="critical")
    overview = services.overview()
    assert overview.status_of(web) == "operational"
    assert overview.overall == "major_outage"


def test_maintenance_follows_its_window(admin, web):
    start = now() + timedelta(hours=2)
    board = make_board(slug="travaux")
    maintenance = open_incident(admin, kind="maintenance", title="Mise à jour MySQL",
                                services=[web], window=(start, start + timedelta(hours=1)))
    assert maintenance.status == "scheduled"
    assert maintenance in services.overview().upcoming
    assert services.overview().status_of(web) == "operational"

    with travel(timedelta(hours=2, minutes=1)):
        # Derived at once, before the worker even runs...
        assert services.current_status(maintenance) == "in_progress"
        assert services.overview().status_of(web) == "maintenance"
        # ...and recorded by the worker as an update relayed into the discussion thread.
        with site_context():
            assert services.follow_windows() == 1
            assert services.follow_windows() == 0
    assert maintenance.status == "in_progress"

    with travel(timedelta(hours=3, minutes=5)), site_context():
        assert services.follow_windows() == 1
    assert maintenance.status == "completed" and maintenance.resolved_at is not None
    thread = db.session.scalar(select(Thread).where(Thread.board_id == board.id))
    assert thread.incident_id == maintenance.id and thread.resolved_at is not None
    relayed = db.session.scalars(select(Post).where(Post.thread_id == thread.id)).all()
    assert len(relayed) == 3 and all(post.official for post in relayed)


def test_admin_override_stops_the_window_from_moving_it(admin):
    start = now() + timedelta(hours=1)
    maintenance = open_incident(admin, kind="maintenance", title="Migration",
                                window=(start, start + timedelta(hours=1)))
    update(maintenance, admin, "in_progress", "Nous commençons en avance.")
    assert maintenance.status_manual
    with travel(timedelta(hours=3)), site_context():
        assert services.current_status(maintenance) == "in_progress"
        assert services.follow_windows() == 0
    update(maintenance, admin, "completed", "Terminé.")
    assert maintenance.resolved_at is not None


@pytest.mark.parametrize("window, code", [
    ((None, None), "window-missing"),
    ((now() + timedelta(hours=2), now() + timedelta(hours=1)), "window-order"),
])
def test_bad_window_is_refused_and_stores_nothing(admin, window, code):
    with pytest.raises(TravauxError, match=code):
        open_incident(admin, kind="maintenance", window=window)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Incident.id))) == 0
    assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_incident_opened_on_travaux_gets_a_discussion_thread(app, admin):
    incident = open_incident(admin, title="Panne DNS")
    thread = db.session.scalar(select(Thread).where(Thread.incident_id == incident.id))
    assert thread.board.slug == app.config["TRAVAUX_BOARD"] and thread.title == "Panne DNS"
    first = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
    assert first.official and "Nous regardons." in first.body_html
    assert f"/travaux/incidents/{incident.id}" in first.body_html


def test_the_worker_moves_maintenance_along_its_window(app, admin, runner):
    start = now() + timedelta(minutes=30)
    maintenance = open_incident(admin, kind="maintenance", title="Migration des boîtes",
                                window=(start, start + timedelta(hours=1)))
    with travel(timedelta(minutes=45)):
        result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    db.session.refresh(maintenance)
    assert maintenance.status == "in_progress" and not maintenance.status_manual


def test_maintenance_moving_by_itself_speaks_for_its_author(app):
    admin = make_user(role="admin", name="Camille")
    make_board(slug="travaux")
    start = now() + timedelta(hours=1)
    with site_context():
        maintenance = services.open_incident(
            admin, kind="maintenance", title="Mise à jour", impact="minor", services=[],
            message="Prévue.", window=(start, start + timedelta(hours=1)))
        with travel(timedelta(hours=1, minutes=5)):
            services.follow_windows()
    thread = maintenance.source_thread
    last = db.session.scalar(select(Post).where(Post.thread_id == thread.id)
                             .order_by(Post.id.desc()))
    assert last.official and last.author_id == admin.id
