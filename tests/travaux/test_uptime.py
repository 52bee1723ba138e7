"""Uptime per service and day: the arithmetic across Paris days (DST included), overlapping
incidents, maintenance apart, a long incident; stored by the worker, shown as bars with words,
in the API and the export; the community's track and staff hiding a day's marks."""

import json
import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from board import pagecache
from board.audit import AuditLog
from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.travaux import uptime
from board.travaux.export import export
from board.travaux.uptime_models import CommunityDay, UptimeDay
from board.urls import site_context
from tests.conftest import count_queries
from tests.factories import make_board, make_user
from tests.travaux.factories import make_incident, make_service, post_update


@contextmanager
def at(moment: datetime):
    """The clock at `moment` (UTC) for the block."""
    with travel(moment - datetime.now(UTC)):
        yield


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def incident(service, start, end=None, impact="minor", admin=None, kind="incident"):
    """An incident opened at `start` and resolved at `end` (UTC), the worker run after."""
    admin = admin or make_user(role="admin")
    with at(start):
        found = make_incident(admin, services=[service], impact=impact, kind=kind,
                              window=(start, end) if kind == "maintenance" else None,
                              status="in_progress" if kind == "maintenance" else None)
    if end is not None:
        with at(end):
            post_update(found, admin, "completed" if kind == "maintenance" else "resolved")
    return found


def work(moment=None):
    """Run the worker's task that takes the backlog of days, at `moment`."""
    with at(moment or datetime.now(UTC)), site_context():
        uptime.catch_up()


def row(service, day) -> UptimeDay | None:
    db.session.expire_all()
    return db.session.get(UptimeDay, (service.id, day))


def minutes(service, day) -> dict:
    found = row(service, day)
    return {"degraded": found.degraded_minutes, "partial": found.partial_minutes,
            "major": found.major_minutes, "maintenance": found.maintenance_minutes}


# The arithmetic ---------------------------------------------------------------------------

def test_an_incident_over_midnight_counts_on_each_paris_day(app):
    service = make_service()
    # 23:30 to 01:15 Paris time (UTC+1 in winter): two days, 30 and 75 minutes.
    incident(service, utc(2026, 11, 10, 22, 30), utc(2026, 11, 11, 0, 15))
    work()
    assert minutes(service, date(2026, 11, 10))["degraded"] == 30
    assert minutes(service, date(2026, 11, 11))["degraded"] == 75
    assert row(service, date(2026, 11, 12)) is None


def test_the_spring_day_has_23_hours(app):
    service = make_service()
    # 28 March 2026 23:00 CET to 29 March 04:00 CEST: 1 h then 3 h (02:00 never happened).
    incident(service, utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 2, 0), impact="critical")
    work()
    assert minutes(service, date(2026, 3, 28))["major"] == 60
    assert minutes(service, date(2026, 3, 29))["major"] == 180
    start, end = uptime.day_bounds(date(2026, 3, 29))
    assert end - start == timedelta(hours=23)


def test_the_autumn_day_has_25_hours(app):
    service = make_service()
    # The whole of 25 October 2026, Paris time: 25 hours of partial outage.
    start, end = uptime.day_bounds(date(2026, 10, 25))
    assert (start, end) == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    incident(service, start, end, impact="major")
    work()
    assert minutes(service, date(2026, 10, 25))["partial"] == 25 * 60
    assert row(service, date(2026, 10, 24)) is None or \
        minutes(service, date(2026, 10, 24))["partial"] == 0


def test_overlapping_incidents_count_the_worst_minute_not_the_sum(app):
    service = make_service()
    incident(service, utc(2026, 11, 3, 9), utc(2026, 11, 3, 11))             # minor, 2 h
    incident(service, utc(2026, 11, 3, 10), utc(2026, 11, 3, 10, 30), "critical")  # inside
    incident(service, utc(2026, 11, 3, 10, 15), utc(2026, 11, 3, 12), "major")  # across
    work()
    assert minutes(service, date(2026, 11, 3)) == {
        "degraded": 60, "major": 30, "partial": 90, "maintenance": 0}
    assert len(row(service, date(2026, 11, 3)).operations) == 3


def test_maintenance_counts_apart_and_not_against_uptime(app, client):
    service = make_service(slug="mail")
    today = uptime.local_day(datetime.now(UTC))
    day_start, _ = uptime.day_bounds(today - timedelta(days=2))
    incident(service, day_start + timedelta(hours=2), day_start + timedelta(hours=4),
             kind="maintenance")
    incident(service, day_start + timedelta(hours=3), day_start + timedelta(hours=5), "critical")
    work()
    counted = minutes(service, today - timedelta(days=2))
    assert counted == {"degraded": 0, "partial": 0, "major": 120, "maintenance": 120}
    day = client.get("/api/v1/services/mail/uptime?days=3").get_json()["per_day"][0]
    # 120 minutes down out of the 1440 - 120 the maintenance leaves.
    assert day["uptime_percent"] == round((1 - 120 / 1320) * 100 - 0.005, 2)
    assert day["state"] == "major_outage"


def test_a_long_incident_fills_every_day_of_the_months_it_spans(app):
    service = make_service()
    incident(service, utc(2026, 6, 14, 22), utc(2026, 8, 9, 21, 59, 59), "major")  # 15 June - 9 Aug
    work()
    days = db.session.scalars(select(UptimeDay).where(UptimeDay.service_id == service.id)
                              .order_by(UptimeDay.day)).all()
    assert [d.day for d in days][0] == date(2026, 6, 15)
    assert [d.day for d in days][-1] == date(2026, 8, 9)
    assert len(days) == 56
    assert {d.partial_minutes for d in days} == {1440}


def test_an_open_incident_grows_with_the_refresh_task(app):
    service = make_service()
    today = uptime.local_day(datetime.now(UTC))
    start, _ = uptime.day_bounds(today)
    incident(service, start + timedelta(minutes=5), impact="critical")
    work(start + timedelta(minutes=65))
    assert minutes(service, today)["major"] == 60
    with at(start + timedelta(minutes=125)):
        uptime.refresh(force=True)
    assert minutes(service, today)["major"] == 120


def test_a_reopened_incident_counts_again_and_its_days_are_recomputed(app):
    service, admin = make_service(), make_user(role="admin")
    found = incident(service, utc(2026, 11, 5, 8), utc(2026, 11, 5, 9), admin=admin)
    work()
    assert minutes(service, date(2026, 11, 5))["degraded"] == 60
    with at(utc(2026, 11, 5, 10)):
        post_update(found, admin, "investigating", reopen=True)
    with at(utc(2026, 11, 5, 10, 30)):
        post_update(found, admin, "resolved")
    work()
    assert minutes(service, date(2026, 11, 5))["degraded"] == 90


# The pages --------------------------------------------------------------------------------

def _recent_incident(service, days_ago=1, impact="major"):
    """Two hours from 9:00 in the morning (Paris), `days_ago` days back."""
    start = uptime.day_bounds(uptime.local_day(datetime.now(UTC)) - timedelta(days=days_ago))[0]
    return incident(service, start + timedelta(hours=9), start + timedelta(hours=11), impact)


def test_the_status_page_reads_what_the_worker_stored(app, client):
    service = make_service(name="Hébergement mutualisé")
    _recent_incident(service)
    page = client.get("/travaux/").get_data(as_text=True)
    assert "100,00 %" in page  # not counted yet: the page never computes
    work()
    page = client.get("/travaux/").get_data(as_text=True)
    assert "99,9" in page
    assert page.count('class="uptime-day ') == 90


def test_every_day_has_words_for_screen_readers(app, client):
    service = make_service(name="Courrier")
    found = _recent_incident(service)
    work()
    page = client.get("/travaux/").get_data(as_text=True)
    bars = re.search(r'<ol class="uptime-bars" aria-label="([^"]+)">(.*?)</ol>', page, re.S)
    assert bars.group(1) == "Courrier : chacun des 90 derniers jours"
    summaries = re.findall(r"<summary><span class=\"uptime-tip\">(.*?)</span></summary>",
                           bars.group(2), re.S)
    assert len(summaries) == 90
    assert all(re.match(r"\d{1,2} \S+ \d{4} : ", s) for s in summaries)
    assert any("Panne partielle, panne partielle 120 min" in s for s in summaries)
    assert f'href="/travaux/incidents/{found.id}"' in bars.group(2)


def test_a_service_page_shows_status_bars_months_and_operations(app, client):
    service = make_service(slug="dns", name="DNS")
    found = _recent_incident(service)
    work()
    page = client.get("/travaux/services/dns").get_data(as_text=True)
    assert "<h1>DNS</h1>" in page
    assert "Mois par mois" in page and page.count("<th scope=\"row\">") == 12
    assert found.title in page
    assert "Comment la disponibilité est calculée" in page
    assert client.get("/travaux/services/nope").status_code == 404


def test_the_api_gives_each_day(app, client):
    service = make_service(slug="web")
    found = _recent_incident(service, days_ago=5)
    work()
    document = client.get("/api/v1/services/web/uptime?days=90").get_json()
    assert document["days"] == 90 and len(document["per_day"]) == 90
    marked = [d for d in document["per_day"] if d["operations"]]
    assert [d["operations"] for d in marked] == [[found.id]]
    assert sum(d["partial_outage_minutes"] for d in marked) == 120
    assert document["uptime_percent"] < 100
    for bad in ("0", "400", "x", "-1"):
        answer = client.get(f"/api/v1/services/web/uptime?days={bad}")
        assert answer.status_code == 400 and "days" in answer.get_json()["message"]
    assert client.get("/api/v1/services/none/uptime").status_code == 404


def test_the_export_carries_the_bars_and_each_services_uptime(app, tmp_path):
    service = make_service(slug="db", name="Bases de données")
    _recent_incident(service)
    work()
    export(tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'class="uptime-bars"' in index and 'href="services/db.html"' in index
    page = (tmp_path / "site" / "services" / "db.html").read_text(encoding="utf-8")
    assert "Mois par mois" in page
    document = json.loads((tmp_path / "site" / "services" / "db.uptime.json").read_text())
    assert document["service"] == "db" and len(document["per_day"]) == 90


def test_the_status_page_costs_the_same_queries_whatever_the_history(app, client):
    services = [make_service() for _ in range(3)]
    _recent_incident(services[0])
    work()
    client.get("/travaux/")  # warm what is loaded once per process
    pagecache.store().clear()  # what it costs to render, not a guest's second visit
    with count_queries() as few:
        client.get("/travaux/")
    for n in range(12):
        for service in services:
            _recent_incident(service, days_ago=n * 7 + 2, impact="critical")
    work()
    assert db.session.query(UptimeDay).count() >= 36
    client.get("/travaux/")
    pagecache.store().clear()
    with count_queries() as many:
        client.get("/travaux/")
    assert len(many) == len(few)
    assert sum("uptime_days" in q for q in many) == 1  # one query for every service's 90 days


# The community's track --------------------------------------------------------------------

def _report(service, author=None, affected=()):
    board = make_board()
    thread = forum.open_thread(board, author or make_user(), "Ça ne marche plus",
                               "Rien ne répond.", service_id=service.id)
    for member in affected:
        forum.mark_affected(thread, member)
    return thread


def test_reports_and_affected_marks_make_the_community_track(app, client):
    service = make_service(slug="panel", name="Panel")
    _report(service, affected=[make_user(), make_user()])
    uptime.refresh(force=True)
    today = uptime.local_day(datetime.now(UTC))
    marks = db.session.get(CommunityDay, (service.id, today))
    assert (marks.reports, marks.affected) >= (1, 2)
    page = client.get("/travaux/").get_data(as_text=True)
    assert re.search(r'class="community-day marked".*?1 signalement, \d membres concernés', page,
                     re.S)


def test_a_hidden_thread_leaves_the_track(app):
    service, moderator = make_service(), make_user(role="moderator")
    thread = _report(service)
    uptime.refresh(force=True)
    forum.hide_thread(thread, moderator)
    work()
    today = uptime.local_day(datetime.now(UTC))
    assert db.session.get(CommunityDay, (service.id, today)) is None


def test_staff_hide_a_days_marks_with_a_reason_in_the_audit_log(app, client, login_as):
    service = make_service(slug="vps", name="VPS")
    _report(service)
    uptime.refresh(force=True)
    today = uptime.local_day(datetime.now(UTC)).isoformat()
    moderator = login_as("moderator")
    page = client.get("/travaux/services/vps").get_data(as_text=True)
    assert "Masquer ces signalements" in page
    answer = client.form("/travaux/services/vps/marks", {"day": today, "reason": ""})
    assert "Dites pourquoi" in client.get(answer.headers["Location"]).get_data(as_text=True)
    client.form("/travaux/services/vps/marks", {"day": today, "reason": "Test interne"})
    entry = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "uptime.hide_marks")).one()
    assert entry.actor_id == moderator.id
    assert entry.details == {"day": today, "reason": "Test interne"}
    log = client.get("/moderation").get_data(as_text=True)
    day = date.fromisoformat(today)
    assert f"les signalements des membres du {day.day}" in log and "Test interne" in log
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    page = client.get("/travaux/").get_data(as_text=True)
    assert 'class="community-day marked"' not in page
    uptime.refresh(force=True)  # counting again keeps the day hidden
    assert db.session.get(CommunityDay, (service.id, date.fromisoformat(today))).hidden_reason


def test_members_cannot_hide_marks(app, client, login_as):
    make_service(slug="ftp")
    login_as("member")
    answer = client.form("/travaux/services/ftp/marks", {"day": "2026-01-01", "reason": "x"})
    assert answer.status_code == 403


def test_the_demo_has_months_of_history_on_the_bars(app, client, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    page = client.get("/travaux/").get_data(as_text=True)
    assert page.count('class="uptime-bars"') == 5
    percents = re.findall(r"([\d,]+) % de disponibilité sur 90 jours", page)
    assert len(percents) == 5 and all(p != "100,00" for p in percents)
    assert 'class="community-day marked"' in page
    months = client.get("/travaux/services/mail").get_data(as_text=True)
    assert months.count("<th scope=\"row\">") == 12 and "99,8" in months


# The worker's tasks -----------------------------------------------------------------------

def test_the_worker_round_takes_the_backlog_and_a_reschedule_moves_the_days(app):
    from board.outbox.services import run_tasks
    from board.travaux import services as travaux
    from board.travaux.uptime_models import UptimeBacklog

    service, admin = make_service(), make_user(role="admin")
    today = uptime.local_day(datetime.now(UTC))
    start = datetime.now(UTC) - timedelta(minutes=30)
    with at(start):  # its window opens: it starts (the worker's round would say so)
        found = make_incident(admin, kind="maintenance", services=[service],
                              window=(start, start + timedelta(hours=2)))
    with site_context():
        run_tasks()
    assert db.session.scalar(select(UptimeBacklog.id)) is None
    assert ran(service, today) in (29, 30, 31)
    with site_context():
        travaux.reschedule(found, admin, start + timedelta(days=3),
                           start + timedelta(days=3, hours=2))
    backlog = db.session.scalars(select(UptimeBacklog)).all()
    assert [(b.track, b.last) for b in backlog] == [("official", today)]
    assert backlog[0].first == uptime.local_day(start)
    work()
    # Rescheduled before its new window: what ran so far still counts, nothing more.
    assert ran(service, today) in (29, 30, 31)


def ran(service, today) -> int:
    """Maintenance minutes of yesterday and today (half an hour ago may be yesterday)."""
    return sum(r.maintenance_minutes for r in (row(service, today - timedelta(days=1)),
                                               row(service, today)) if r)


def test_workers_counting_the_same_days_at_once_never_collide(app):
    import pytest

    from tests.concurrency import run_together

    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: on SQLite one worker runs (flask worker makes sure)")
    services = [make_service() for _ in range(3)]
    for n, service in enumerate(services):
        _recent_incident(service, days_ago=n + 1, impact="critical")

    def count(_n):
        with site_context():
            uptime.recompute(date(2026, 1, 1), uptime.local_day(datetime.now(UTC)))
            uptime.recount_community(date(2026, 1, 1), uptime.local_day(datetime.now(UTC)))
            db.session.commit()

    run_together(app, 4, count)
    rows = db.session.scalars(select(UptimeDay)).all()
    assert sum(r.major_minutes for r in rows) == 3 * 120


def test_the_first_refresh_of_a_day_recounts_the_communitys_90_days(app):
    service, other, moderator = make_service(), make_service(), make_user(role="moderator")
    with at(datetime.now(UTC) - timedelta(days=10)):
        thread = _report(service)
    uptime.recount_community(date(2026, 1, 1), uptime.local_day(datetime.now(UTC)))
    db.session.commit()
    day = uptime.local_day(thread.created_at)
    assert db.session.get(CommunityDay, (service.id, day)).reports == 1
    forum.set_service(thread, other.id, moderator)  # a moderator's correction, no event
    app.extensions["travaux.uptime"].pop("day", None)  # as on a new day
    uptime.refresh(force=True)
    db.session.expire_all()
    assert db.session.get(CommunityDay, (service.id, day)) is None
    assert db.session.get(CommunityDay, (other.id, day)).reports == 1


def test_a_maintenance_is_listed_at_its_window_not_at_its_announcement(app, client):
    """A service page lists a maintenance at the time it runs (announced days before)."""
    service = make_service(slug="smtp", name="Relais SMTP")
    start = datetime(2030, 3, 14, 21, 0, tzinfo=UTC)
    make_incident(kind="maintenance", services=[service], title="Redémarrage du relais",
                  window=(start, start + timedelta(minutes=30)))
    page = client.get("/travaux/services/smtp").get_data(as_text=True)
    assert "14 mars 2030 22:00" in page  # Paris time, UTC+1 in March before the change
