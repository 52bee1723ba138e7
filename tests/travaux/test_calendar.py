"""Maintenance calendars, read by a real iCalendar parser (the `icalendar` package)."""

from datetime import UTC, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import update

from board import pagecache
from board.clock import now
from board.extensions import db
from board.travaux import services
from board.travaux.export import export
from board.travaux.models import Incident
from board.urls import site_context
from tests.conftest import count_queries
from tests.factories import make_user
from tests.travaux.factories import make_incident, make_service, post_update

ALL = "/travaux/maintenance.ics"
REQUIRED = ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS", "SUMMARY",
            "DESCRIPTION", "URL")


@pytest.fixture
def admin(app):
    return make_user(role="admin")


@pytest.fixture
def mail(app):
    return make_service(slug="mail", name="Messagerie")


def planned(admin, services_=(), days=3, title="Migration des boîtes", message="Coupure."):
    start = (now() + timedelta(days=days)).replace(microsecond=0)
    return make_incident(admin, kind="maintenance", services=services_, title=title,
                         message=message, window=(start, start + timedelta(hours=2)))


def read(client, path=ALL, **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return response, Calendar.from_ical(response.data)


def events(calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_a_maintenance_is_a_complete_event_in_utc(client, admin, mail):
    maintenance = planned(admin, [mail], message="Les **boîtes** migrent vers un nouveau "
                                                  "serveur.")
    make_incident(admin, services=[mail], title="Une panne, pas une maintenance")
    response, calendar = read(client)
    assert str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    assert str(calendar["X-WR-CALNAME"]) == "Travaux\u00a0: maintenances"
    [event] = calendar.walk("VEVENT")
    for name in REQUIRED:
        assert name in event, name
    assert str(event["UID"]) == f"maintenance-{maintenance.id}@board.test"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start.utcoffset() == timedelta(0) and start == maintenance.window_start
    assert end == maintenance.window_start + timedelta(hours=2)
    raw = response.get_data(as_text=True)
    assert f"DTSTART:{maintenance.window_start.astimezone(UTC):%Y%m%dT%H%M%SZ}" in raw
    assert "\r\n" in raw
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Migration des boîtes"
    assert str(event["URL"]) == f"http://board.test/travaux/incidents/{maintenance.id}"
    text = str(event["DESCRIPTION"])
    assert "Les boîtes migrent vers un nouveau serveur." in text and "**" not in text
    assert "Messagerie" in text and "Impact\u00a0: Mineur" in text
    assert f"/travaux/incidents/{maintenance.id}" in text


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(client, admin, mail):
    maintenance = planned(admin, [mail])
    [before] = events(read(client)[1]).values()
    start = (now() + timedelta(days=10)).replace(microsecond=0)
    with site_context():
        services.reschedule(maintenance, admin, start, start + timedelta(hours=1),
                            "Un fournisseur nous l’a demandé.")
    [after] = events(read(client)[1]).values()
    assert after["UID"] == before["UID"]
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1 == 1
    assert after.decoded("DTSTART") == start
    assert after.decoded("DTSTAMP") >= before.decoded("DTSTAMP")
    assert "Un fournisseur" in str(after["DESCRIPTION"])
    with site_context():
        services.reschedule(maintenance, admin, start + timedelta(days=1),
                            start + timedelta(days=1, hours=1))
    [again] = events(read(client)[1]).values()
    assert int(again["SEQUENCE"]) == 2


def test_a_cancelled_maintenance_stays_with_status_cancelled(client, admin, mail):
    maintenance = planned(admin, [mail])
    post_update(maintenance, admin, "cancelled", "Reportée sine die.")
    [event] = events(read(client)[1]).values()
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == f"maintenance-{maintenance.id}@board.test"
    assert str(event["SUMMARY"]) == "Annulée\u00a0: Migration des boîtes"
    assert "Reportée sine die." in str(event["DESCRIPTION"])


def test_running_ended_and_long_gone_maintenance(client, admin):
    running = make_incident(admin, kind="maintenance", title="En cours")
    ended = make_incident(admin, kind="maintenance", title="Finie hier", window=(
        now() - timedelta(days=1, hours=2), now() - timedelta(days=1)))
    gone = make_incident(admin, kind="maintenance", title="Finie il y a longtemps", window=(
        now() - timedelta(days=60, hours=2), now() - timedelta(days=60)))
    cancelled_long_ago = planned(admin, days=90, title="Annulée il y a longtemps mais à venir")
    post_update(cancelled_long_ago, admin, "cancelled", "Annulée.")
    moment = now() - timedelta(days=45)
    db.session.execute(update(Incident).where(Incident.id.in_([gone.id, cancelled_long_ago.id]))
                       .values(resolved_at=moment, updated_at=moment))
    db.session.commit()
    found = {str(e["SUMMARY"]) for e in read(client)[1].walk("VEVENT")}
    assert found == {"En cours", "Finie hier",
                     "Annulée\u00a0: Annulée il y a longtemps mais à venir"}
    assert running.id and ended.id


def test_one_service_s_calendar_holds_its_maintenance_only(client, admin, mail):
    dns = make_service(slug="dns", name="DNS")
    ours = planned(admin, [mail, dns], title="Les deux")
    planned(admin, [dns], title="DNS seul")
    planned(admin, [], title="Aucun service")
    _, calendar = read(client, "/travaux/services/mail/maintenance.ics")
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["Les deux"]
    assert str(calendar["X-WR-CALNAME"]) == "Travaux\u00a0: maintenances de Messagerie"
    assert str(calendar.walk("VEVENT")[0]["UID"]) == f"maintenance-{ours.id}@board.test"
    _, calendar = read(client, "/travaux/services/dns/maintenance.ics")
    assert len(calendar.walk("VEVENT")) == 2
    assert len(read(client)[1].walk("VEVENT")) == 3
    assert client.get("/travaux/services/nope/maintenance.ics").status_code == 404


def test_an_empty_calendar_is_still_a_calendar(client, mail):
    _, calendar = read(client, "/travaux/services/mail/maintenance.ics")
    assert calendar.walk("VEVENT") == [] and str(calendar["VERSION"]) == "2.0"


def test_a_calendar_application_asking_again_gets_a_304_until_something_changes(client, admin,
                                                                              mail):
    maintenance = planned(admin, [mail])
    for path in (ALL, "/travaux/services/mail/maintenance.ics"):
        first, _ = read(client, path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    first, _ = read(client)
    with site_context():
        start = now() + timedelta(days=5)
        services.reschedule(maintenance, admin, start, start + timedelta(hours=1))
    again = client.get(ALL, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != first.headers["ETag"]


def test_a_guest_s_calendar_is_served_from_the_cache_without_a_cookie(client, admin):
    planned(admin)
    first = client.get(ALL)
    assert first.headers["X-Cache"] == "miss" and first.headers.getlist("Set-Cookie") == []
    second = client.get(ALL)
    assert second.headers["X-Cache"] == "hit" and second.data == first.data


def test_calendars_are_linked_from_the_feeds_the_opml_and_the_status_page(client, mail):
    feeds = client.get("/feeds").get_data(as_text=True)
    assert 'href="/travaux/maintenance.ics"' in feeds
    assert 'href="/travaux/services/mail/maintenance.ics"' in feeds
    opml = client.get("/feeds.opml").get_data(as_text=True)
    assert 'url="http://board.test/travaux/maintenance.ics"' in opml
    assert 'url="http://board.test/travaux/services/mail/maintenance.ics"' in opml
    status = client.get("/travaux/").get_data(as_text=True)
    assert 'rel="alternate" type="text/calendar" href="/travaux/maintenance.ics"' in status
    assert 'href="/travaux/maintenance.ics" type="text/calendar"' in status


def test_the_static_export_carries_the_calendars_with_public_links(app, client, admin, mail,
                                                                  tmp_path, monkeypatch):
    public = "https://etat.example.org"
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLIC_URL", public)
    maintenance = planned(admin, [mail])
    export(tmp_path / "site")
    root = tmp_path / "site"
    exported = Calendar.from_ical((root / "maintenance.ics").read_bytes())
    [event] = exported.walk("VEVENT")
    [live] = read(client)[1].walk("VEVENT")
    assert event["UID"] == live["UID"] and event["SEQUENCE"] == live["SEQUENCE"]
    assert str(event["URL"]) == f"{public}/incidents/{maintenance.id}.html"
    assert f"{public}/incidents/{maintenance.id}.html" in str(event["DESCRIPTION"])
    assert str(exported["SOURCE"]) == f"{public}/maintenance.ics"
    one = Calendar.from_ical((root / "calendars" / "mail.ics").read_bytes())
    assert [str(e["UID"]) for e in one.walk("VEVENT")] == [str(live["UID"])]
    index = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="maintenance.ics"' in index


@pytest.mark.parametrize("path", [ALL, "/travaux/services/mail/maintenance.ics"])
def test_a_calendar_costs_the_same_for_few_and_many_maintenance(client, admin, mail, path):
    costs = []
    for count in (2, 12):
        for n in range(count):
            planned(admin, [mail, make_service()], days=n + 1, title=f"Opération {n}")
        client.get(path)
        pagecache.store().clear()
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        costs.append(len(statements))
    # The page's stamp, (the service,) the calendar's stamp, the maintenance with their last
    # updates, their services.
    assert costs == [4 + (path != ALL)] * 2, costs
    assert len(read(client, path)[1].walk("VEVENT")) == 14
