"""Reminders before a maintenance (TRAVAUX_REMINDERS, a day and an hour by default), sent by
the worker (`flask worker --once`) with the clock moved: each once, never for a maintenance
announced less than that ahead, never for a cancelled one; read on a real SMTP server."""

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from board.clock import now
from board.extensions import db
from board.lists import services as lists
from board.lists.models import Subscription
from board.travaux import services as travaux
from board.travaux.models import Service
from board.travaux.subscription_models import MaintenanceReminder
from board.urls import site_context
from tests.factories import make_user
from tests.outbox.conftest import _smtp_server, clock, smtp_server  # noqa: F401 - fixtures
from tests.travaux.factories import make_service

SUBSCRIBER = "rene@example.org"


@pytest.fixture
def subscriber(app):
    db.session.add(Subscription(list=lists.get_list("travaux"), email=SUBSCRIBER,
                                status="active", token=secrets.token_urlsafe(32)))
    db.session.commit()


def schedule(ahead: timedelta, hours: int = 2, title="Mise à jour des serveurs"):
    """A maintenance of the web hosting announced now (without a mail), starting `ahead`
    from now."""
    admin = make_user(role="admin")
    web = db.session.scalar(select(Service).where(Service.slug == "web")) or \
        make_service("web", "Hébergement web")
    start = now() + ahead
    with site_context():
        return travaux.open_incident(
            admin, kind="maintenance", title=title, impact="minor", services=[web],
            message="Prévue.", window=(start, start + timedelta(hours=hours)))


def worker(runner, smtp_server) -> list:  # noqa: F811 - the fixture, passed in
    """One round of the real worker; the subjects of the mails it delivered."""
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    subjects = [m["Subject"] for m in smtp_server.messages]
    smtp_server.reset()
    return subjects


def test_a_day_and_an_hour_ahead_each_once(subscriber, runner, smtp_server, clock):  # noqa: F811
    maintenance = schedule(timedelta(days=3))
    assert worker(runner, smtp_server) == []
    clock.advance(days=1, hours=23)  # 25 hours before the start
    assert worker(runner, smtp_server) == []

    clock.advance(hours=1, minutes=1)  # 23 h 59 before
    [subject] = worker(runner, smtp_server)
    assert subject == "[Travaux] Rappel : la maintenance commence dans 24 heures : " \
                      "Mise à jour des serveurs"
    assert worker(runner, smtp_server) == []  # never twice

    clock.advance(hours=22, minutes=58)  # 61 minutes before
    assert worker(runner, smtp_server) == []
    clock.advance(minutes=2)  # 59 minutes before
    [subject] = worker(runner, smtp_server)
    assert "commence dans 1 heure" in subject
    assert worker(runner, smtp_server) == []
    sent = db.session.scalars(select(MaintenanceReminder.lead_minutes).where(
        MaintenanceReminder.incident_id == maintenance.id)).all()
    assert sorted(sent) == [60, 1440]


def test_the_reminder_mail_says_when_and_what(subscriber, runner, smtp_server, clock):  # noqa: F811
    maintenance = schedule(timedelta(hours=5))
    clock.advance(hours=4, minutes=30)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    [mail] = smtp_server.messages
    text = mail.get_body(("plain",)).get_content()
    assert "(heure de Paris)" in text and "Hébergement web" in text
    assert f"http://board.test/travaux/incidents/{maintenance.id}" in text


def test_no_reminder_for_a_maintenance_announced_at_short_notice(
        subscriber, runner, smtp_server, clock):  # noqa: F811
    schedule(timedelta(hours=2))  # less than a day ahead: no 24-hour reminder, ever
    assert worker(runner, smtp_server) == []
    clock.advance(minutes=61)  # 59 minutes before
    [subject] = worker(runner, smtp_server)
    assert "dans 1 heure" in subject

    schedule(timedelta(minutes=30), title="Urgence")  # less than an hour ahead: none at all
    assert worker(runner, smtp_server) == []
    clock.advance(minutes=29)
    assert [s for s in worker(runner, smtp_server) if "Urgence" in s and "Rappel" in s] == []


def test_a_late_worker_sends_only_the_nearest_reminder(
        subscriber, runner, smtp_server, clock):  # noqa: F811
    schedule(timedelta(days=2))
    clock.advance(days=1, hours=23, minutes=30)  # the worker was down for a day
    [subject] = worker(runner, smtp_server)
    assert "dans 1 heure" in subject
    assert worker(runner, smtp_server) == []


def test_no_reminder_for_a_closed_maintenance(subscriber, runner, smtp_server, clock):  # noqa: F811
    maintenance = schedule(timedelta(days=2))
    with site_context():
        travaux.post_update(maintenance, maintenance.author, "completed", "Faite en avance.")
    clock.advance(days=1, hours=1)
    assert worker(runner, smtp_server) == []


def test_the_leads_are_a_setting(
        subscriber, runner, smtp_server, clock, app, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "TRAVAUX_REMINDERS", "30")
    schedule(timedelta(hours=3))
    clock.advance(hours=2, minutes=15)
    assert worker(runner, smtp_server) == []
    clock.advance(minutes=20)
    [subject] = worker(runner, smtp_server)
    assert "dans 30 minutes" in subject


def test_no_reminder_for_a_cancelled_maintenance(subscriber, runner, smtp_server,  # noqa: F811
                                                 clock):  # noqa: F811
    maintenance = schedule(timedelta(days=2))
    with site_context():
        travaux.post_update(maintenance, maintenance.author, "cancelled", "Annulée.")
    clock.advance(days=1, hours=1)
    assert worker(runner, smtp_server) == []
    clock.advance(hours=22, minutes=30)
    assert worker(runner, smtp_server) == []


def test_a_rescheduled_maintenance_is_reminded_of_its_new_start(
        subscriber, runner, smtp_server, clock):  # noqa: F811
    maintenance = schedule(timedelta(days=3))
    clock.advance(days=2, hours=1)  # 23 hours before
    [subject] = worker(runner, smtp_server)
    assert "24 heures" in subject
    start = maintenance.window_start + timedelta(days=2)
    with site_context():
        travaux.reschedule(maintenance, maintenance.author, start, start + timedelta(hours=2),
                           notify=False)
    clock.advance(days=2)  # 23 hours before the new start
    [subject] = worker(runner, smtp_server)
    assert "24 heures" in subject
    assert worker(runner, smtp_server) == []
