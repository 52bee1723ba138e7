"""Maintenance calendars (iCalendar, RFC 5545), for calendar applications to subscribe to:
`/travaux/maintenance.ics`, and `/travaux/services/<slug>/maintenance.ics` for one service.

Every maintenance ahead or running is an event, and so is one that ended or was cancelled
within the last HORIZON (a cancelled one says STATUS:CANCELLED, so that a calendar that holds
it strikes it out rather than keeping a stale slot). An event keeps its UID for good; its
SEQUENCE is the maintenance's (it grows at each reschedule and at a cancellation), so that a
calendar replaces the event it already holds. Times are in UTC. A maintenance is public:
a calendar says what the status page says, in the site's default language, as the feeds do,
with the same conditional GET (board/feeds.py).
"""

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from board import feeds
from board.clock import now
from board.extensions import db
from board.markup import excerpt
from board.pagecache import guest_cached
from board.travaux import services
from board.travaux.models import MAINTENANCE, Incident, Service
from board.travaux.stamps import travaux_stamp
from board.urls import absolute

bp = Blueprint("travaux_calendar", __name__)

HORIZON = timedelta(days=30)  # ended or cancelled maintenance stays this long
MAX_EVENTS = 500
REFRESH = timedelta(hours=1)  # how often a calendar application should read it again
FORMAT = "ics"


def in_calendar(service_id: int | None = None):
    """The SQL condition "this maintenance is in the calendar" (of one service, if given):
    ahead or running, or closed (completed, cancelled) or ended within HORIZON."""
    since = now() - HORIZON
    condition = and_(Incident.kind == MAINTENANCE, Incident.window_start.is_not(None),
                     or_(Incident.resolved_at.is_(None), Incident.resolved_at >= since,
                         Incident.window_end >= since))
    if service_id is not None:
        condition = and_(condition, Incident.services.any(Service.id == service_id))
    return condition


def _respond(service: Service | None):
    condition = in_calendar(service.id if service else None)
    stamp = feeds.Stamp(*db.session.execute(
        select(func.max(Incident.updated_at), func.count(Incident.id)).where(condition)).one())
    if (cached := feeds.not_modified(stamp, FORMAT)) is not None:
        return cached
    maintenance = db.session.scalars(
        select(Incident).where(condition).options(joinedload(Incident.last_update))
        .order_by(Incident.window_start.desc(), Incident.id.desc()).limit(MAX_EVENTS)).all()
    with force_locale(feeds.language()):
        body = build(reversed(maintenance), service)
    return feeds.answer(body, stamp, FORMAT)


@bp.get("/travaux/maintenance.ics")
@guest_cached(travaux_stamp)
def calendar():
    return _respond(None)


@bp.get("/travaux/services/<slug>/maintenance.ics")
@guest_cached(travaux_stamp)
def service_calendar(slug: str):
    service = db.session.scalar(select(Service).where(Service.slug == slug))
    if service is None:
        abort(404)
    return _respond(service)


# Building -------------------------------------------------------------------------------

def calendar_name(service: Service | None) -> str:
    """What a calendar application calls the calendar, in the current language."""
    if service is None:
        return _("Travaux: maintenance")
    return _("Travaux: maintenance of %(service)s", service=service.name)


def build(maintenance, service: Service | None = None) -> bytes:
    """The calendar of these maintenance operations, as bytes (CRLF lines, UTF-8)."""
    # Imported here: icalendar is 80 modules that a web worker serving pages needs only
    # for this address (tests/test_worker_memory.py).
    from icalendar import Calendar, vDuration

    calendar = Calendar()
    calendar.add("prodid", "-//Communauté//Travaux//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = calendar_name(service)
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-caldesc", _("Maintenance of our services, announced ahead of time."))
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    calendar.add("source", absolute(url_for(
        "travaux_calendar.service_calendar", slug=service.slug) if service else url_for(
        "travaux_calendar.calendar")), parameters={"VALUE": "URI"})
    for incident in maintenance:
        calendar.add_component(event(incident))
    return calendar.to_ical()


def uid(incident: Incident) -> str:
    """The event's identifier, the same for good: one per maintenance, whatever happens."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"maintenance-{incident.id}@{host}"


def event(incident: Incident):
    """One maintenance as a VEVENT (an icalendar Event)."""
    from icalendar import Event

    cancelled = incident.status == "cancelled"
    page = absolute(url_for("travaux.incident", incident_id=incident.id))
    item = Event()
    item.add("uid", uid(incident))
    # Without a METHOD, DTSTAMP is when the event last changed (RFC 5545, 3.8.7.2).
    item.add("dtstamp", incident.updated_at)
    item.add("created", incident.created_at)
    item.add("last-modified", incident.updated_at)
    item.add("dtstart", incident.window_start)
    item.add("dtend", incident.window_end)
    item.add("sequence", incident.sequence)
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    item.add("transp", "TRANSPARENT")  # a maintenance does not make its readers busy
    title = feeds.xml_text(incident.title)
    item.add("summary", _("Cancelled: %(title)s", title=title) if cancelled else title)
    item.add("description", description(incident, page))
    item.add("url", page, parameters={"VALUE": "URI"})
    if incident.services:
        item.add("categories", [s.name for s in incident.services])
    return item


def description(incident: Incident, page: str) -> str:
    """The event's text: its status, services and impact, the last update, the page."""
    status = services.current_status(incident)
    lines = [_("Status: %(status)s", status=services.status_label(status))]
    if incident.services:
        lines.append(_("Services: %(services)s",
                       services=", ".join(s.name for s in incident.services)))
    lines.append(_("Impact: %(impact)s", impact=services.impact_label(incident.impact)))
    if (last := incident.last_update) is not None:
        lines += ["", excerpt(last.body_html, length=4000)]
    lines += ["", page]
    return feeds.xml_text("\n".join(lines))


def calendar_directory() -> list[tuple[str, str]]:
    """Every calendar: (title, path), all maintenance first, then each service's."""
    return [(calendar_name(None), url_for("travaux_calendar.calendar"))] + [
        (calendar_name(s), url_for("travaux_calendar.service_calendar", slug=s.slug))
        for s in services.all_services()]
