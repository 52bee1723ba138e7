"""Travaux operations: opening incidents, posting updates, promoting and linking reports,
deriving what every service's status is right now, and queueing the static site's publish.

Operations commit and say so; relayed posts are written in the operation's own transaction,
through the forum's `add_*` helpers, and each change is told to the listeners of
`board.travaux.events` there too (subscribers' mail: board/travaux/subscriptions.py)."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from board import i18n
from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum import services as forum
from board.forum.models import PUBLIC, Board, Thread
from board.i18n import long_window
from board.markup import escape_md, excerpt, render
from board.outbox.models import OutboxMessage
from board.outbox.services import queue
from board.travaux import events
from board.travaux.models import (
    CLOSED,
    IMPACTS,
    INCIDENT_STATUSES,
    MAINTENANCE,
    MAINTENANCE_STATUSES,
    Incident,
    IncidentUpdate,
    Service,
)

# Service statuses, from best to worst.
LEVELS = ("operational", "maintenance", "degraded", "partial_outage", "major_outage")
IMPACT_LEVEL = {"none": "operational", "minor": "degraded", "major": "partial_outage",
                "critical": "major_outage"}


class TravauxError(ValueError):
    """A refused operation; str(error) is a code the views turn into a message."""


# Deriving the present ---------------------------------------------------------------------

def window_status(incident: Incident, at: datetime | None = None) -> str:
    """Where a maintenance stands on its planned window."""
    at = at or now()
    if incident.window_start and at < incident.window_start:
        return "scheduled"
    if incident.window_end and at >= incident.window_end:
        return "completed"
    return "in_progress"


def current_status(incident: Incident, at: datetime | None = None) -> str:
    """The status shown now: a maintenance follows its window unless an admin overrode it."""
    if incident.is_maintenance and not incident.status_manual and not incident.is_closed:
        return window_status(incident, at)
    return incident.status


@dataclass
class Overview:
    """What is going on: the one query behind the status page, the banner and the API."""

    ongoing: list[Incident]
    upcoming: list[Incident]
    services: list[Service]
    statuses: dict[int, str]

    @property
    def overall(self) -> str:
        """The worst of what is going on, counting operations that name no service."""
        levels = [operation_level(i) for i in self.ongoing] + list(self.statuses.values())
        return max(levels, key=LEVELS.index, default="operational")

    def status_of(self, service: Service) -> str:
        return self.statuses.get(service.id, "operational")


def operation_level(incident: Incident) -> str:
    """The service status an open operation causes: its impact, or "maintenance"."""
    return "maintenance" if incident.is_maintenance else IMPACT_LEVEL[incident.impact]


def open_operations():
    """Incidents and maintenance not yet closed, with their services and latest update."""
    stmt = (select(Incident).where(Incident.resolved_at.is_(None))
            .options(joinedload(Incident.last_update), selectinload(Incident.services))
            .order_by(Incident.created_at.desc()))
    return db.session.scalars(stmt).unique().all()


def all_services() -> list[Service]:
    """Every service, in the one order pages, forms and feeds list them."""
    return list(db.session.scalars(select(Service).order_by(Service.position, Service.name)))


def overview(with_services: bool = True) -> Overview:
    """Ongoing incidents, running and upcoming maintenance, and each service's status."""
    at = now()
    ongoing, upcoming = [], []
    for incident in open_operations():
        status = current_status(incident, at)
        if status == "scheduled":
            upcoming.append(incident)
        elif status not in CLOSED:
            ongoing.append(incident)
    upcoming.sort(key=lambda i: i.window_start or i.created_at)
    services = all_services() if with_services else []
    statuses = {}
    for incident in ongoing:
        level = operation_level(incident)
        for service in incident.services:
            worst = max(statuses.get(service.id, "operational"), level, key=LEVELS.index)
            statuses[service.id] = worst
    return Overview(ongoing, upcoming, services, statuses)


# Writing ----------------------------------------------------------------------------------

def _check(kind: str, impact: str, status: str | None, window) -> None:
    if impact not in IMPACTS:
        raise TravauxError("impact")
    allowed = MAINTENANCE_STATUSES if kind == MAINTENANCE else INCIDENT_STATUSES
    if status is not None and status not in allowed:
        raise TravauxError("status")
    start, end = window
    if kind == MAINTENANCE and not (start and end):
        raise TravauxError("window-missing")
    if start and end and end <= start:
        raise TravauxError("window-order")


def discussion_board() -> Board:
    """The board where incidents opened on Travaux get their discussion thread."""
    slug = current_app.config["TRAVAUX_BOARD"]
    board = db.session.scalar(select(Board).where(Board.slug == slug))
    if board is None:
        board = forum.add_board(slug, "Travaux", visibility=PUBLIC)
    return board


def open_incident(author, *, kind: str, title: str, impact: str, services: list[Service],
                  message: str, status: str | None = None, window=(None, None),
                  source_thread: Thread | None = None, notify: bool = False,
                  via: str = "site") -> Incident:
    """Open an incident or schedule a maintenance, with its first update. Commits.

    A promoted report becomes its source thread; otherwise a discussion thread is opened in
    the Travaux board, so that every incident has a place for customers to talk. `via` says
    in the audit log where the action came from ("site" or "api").
    """
    incident = add_incident(author, kind=kind, title=title, impact=impact, services=services,
                            message=message, status=status, window=window,
                            source_thread=source_thread, notify=notify, via=via)
    db.session.commit()
    return incident


def add_incident(author, *, kind: str, title: str, impact: str, services: list[Service],
                 message: str, status: str | None = None, window=(None, None),
                 source_thread: Thread | None = None, notify: bool = False,
                 via: str = "site") -> Incident:
    """open_incident's work, in the caller's transaction (a suspected incident promotes its
    top report and links the others in one)."""
    _check(kind, impact, status, window)
    moment = now()
    incident = Incident(kind=kind, title=title.strip(), impact=impact, author=author,
                        window_start=window[0], window_end=window[1], created_at=moment,
                        updated_at=moment, source_thread=source_thread, status="")
    incident.services = list(services)
    if kind == MAINTENANCE:
        incident.status = status or window_status(incident, moment)
        incident.status_manual = status is not None and status != window_status(incident, moment)
    else:
        incident.status = status or "investigating"
    db.session.add(incident)
    update = _add_update(incident, author, incident.status, message, moment)
    if source_thread is not None:
        _link(incident, source_thread)
        forum.add_post(source_thread, author, relay_text(update, opening=True), official=True)
        record(author, "incident.promote", "incident", incident.id, thread=source_thread.id,
               via=via)
    else:
        thread = forum.add_thread(discussion_board(), author, incident.title,
                                  relay_text(update, opening=True), official=True)
        _link(incident, thread)
        incident.source_thread = thread
        record(author, "incident.open", "incident", incident.id, kind=kind, via=via)
    _close_or_reopen(incident)
    events.emit(events.opened(incident), incident, update, notify=notify)
    if source_thread is not None:
        events.emit("thread.promoted", incident, update, notify=notify,
                    thread_id=source_thread.id)
    queue_publish()
    return incident


def post_update(incident: Incident, author, status: str, message: str,
                reopen: bool = False, notify: bool = False, via: str = "site") -> IncidentUpdate:
    """Add an update, relayed as an official post into every linked thread. Commits."""
    if status not in incident.statuses:
        raise TravauxError("status")
    if incident.is_closed and status not in CLOSED and not reopen:
        raise TravauxError("closed")
    if incident.is_maintenance:
        incident.status_manual = status != window_status(incident)
        if status == "cancelled" and incident.status != "cancelled":
            incident.sequence += 1
    update = _add_update(incident, author, status, message, now())
    incident.status = status
    _relay(incident, update, _close_or_reopen(incident))
    events.emit(events.updated(incident, status), incident, update, notify=notify)
    record(author, "incident.update", "incident", incident.id, status=status, via=via)
    queue_publish()
    db.session.commit()
    return update


def reschedule(incident: Incident, author, start: datetime | None, end: datetime | None,
               message: str = "", notify: bool = True, via: str = "site") -> IncidentUpdate:
    """Move a maintenance's window. The update it adds says the old and the new window
    (before the admin's own words, if any), is relayed like any other, and the maintenance
    follows its new window again. Commits."""
    if not incident.is_maintenance:
        raise TravauxError("not-maintenance")
    if incident.is_closed:
        raise TravauxError("closed")
    if start is None or end is None:
        raise TravauxError("window-missing")
    if end <= start:
        raise TravauxError("window-order")
    if end <= now():
        raise TravauxError("window-past")
    previous = incident.window_start, incident.window_end
    if previous == (start, end):
        raise TravauxError("same-window")
    incident.window_start, incident.window_end = start, end
    incident.sequence += 1
    incident.status_manual = False
    status = window_status(incident)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        said = _("The maintenance is rescheduled: it was planned %(old)s, it is now "
                 "planned %(new)s.", old=long_window(*previous) if previous[0] else "—",
                 new=long_window(start, end))
    text = f"{said}\n\n{message.strip()}" if message.strip() else said
    update = _add_update(incident, author, status, text, now())
    incident.status = status
    _relay(incident, update, _close_or_reopen(incident))
    events.emit("maintenance.rescheduled", incident, update, notify=notify,
                previous_start=previous[0].isoformat() if previous[0] else None,
                previous_end=previous[1].isoformat() if previous[1] else None)
    record(author, "incident.reschedule", "incident", incident.id, via=via,
           start=start.isoformat(), end=end.isoformat())
    queue_publish()
    db.session.commit()
    return update


def _add_update(incident, author, status, message, moment) -> IncidentUpdate:
    body_html = render(message)
    update = IncidentUpdate(incident=incident, author=author, status=status, body_source=message,
                            body_html=body_html, excerpt=excerpt(body_html), created_at=moment)
    db.session.add(update)
    db.session.flush()
    incident.last_update = update
    incident.updated_at = moment
    return update


def _close_or_reopen(incident: Incident) -> list[Thread]:
    """Closing an incident marks its threads resolved (not locked); reopening undoes it.
    Returns the linked threads, for the relay that follows."""
    if incident.status in CLOSED and incident.resolved_at is None:
        incident.resolved_at = incident.updated_at
    elif incident.status not in CLOSED:
        incident.resolved_at = None
    threads = linked_threads(incident)
    for thread in threads:
        thread.resolved_at = incident.resolved_at
        thread.changed_at = thread.board.changed_at = incident.updated_at
    return threads


def _relay(incident: Incident, update: IncidentUpdate, threads: list[Thread]) -> None:
    # Updates the worker writes (a maintenance following its window) speak for its author.
    author = update.author or incident.author
    for thread in threads:
        forum.add_post(thread, author or thread.author, relay_text(update), official=True)


def linked_threads(incident: Incident) -> list[Thread]:
    """Every thread linked to `incident`, whoever may see them (the relay reaches them all)."""
    db.session.flush()
    return db.session.scalars(select(Thread).where(Thread.incident_id == incident.id)).all()


def relay_text(update: IncidentUpdate, opening: bool = False) -> str:
    """The Markdown of a relayed update, in the site's default language."""
    incident = update.incident
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        label = status_label(update.status)
        link = url_for("travaux.incident", incident_id=incident.id, _anchor=f"update-{update.id}")
        title = escape_md(incident.title)
        if opening and incident.is_maintenance:
            head = _("**Maintenance announced** · %(status)s: [%(title)s](%(link)s)",
                     status=label, title=title, link=link)
        elif opening:
            head = _("**Official incident** · %(status)s: [%(title)s](%(link)s)",
                     status=label, title=title, link=link)
        else:
            head = _("**Update** · %(status)s: [%(title)s](%(link)s)", status=label,
                     title=title, link=link)
    return f"{head}\n\n{update.body_source}"


_IMPACT_WORDS = {
    "none": _l("none, the services keep working normally"),
    "minor": _l("minor, some slowness or short interruptions"),
    "major": _l("major, the services are partly unavailable"),
    "critical": _l("critical, the services are unavailable"),
}


def impact_in_words(impact: str) -> str:
    """An impact as a sentence for mail, in the current language."""
    return str(_IMPACT_WORDS[impact])


def guess_impact(affected: int) -> str:
    """The impact a promotion form starts from, by how many members said they are affected:
    a lone report is minor, a few (3 or more) major, many (10 or more) critical. The admin
    changes it at will; it only saves a click in the usual case."""
    return "critical" if affected >= 10 else "major" if affected >= 3 else "minor"


def promote(thread: Thread, author, **fields) -> Incident:
    """Turn a community report into an official incident whose source it is. Commits."""
    # Locked while we decide: two admins promoting at once make one incident, not two.
    db.session.refresh(thread, with_for_update=True)
    if thread.incident_id is not None:
        raise TravauxError("already-linked")
    return open_incident(author, source_thread=thread, **fields)


def _link(incident: Incident, thread: Thread) -> None:
    db.session.flush()
    thread.incident_id = incident.id
    thread.resolved_at = incident.resolved_at
    _touch(incident, thread)


def _touch(incident: Incident, thread: Thread) -> None:
    """A link made or undone changes both sides' feed items."""
    incident.updated_at = thread.changed_at = thread.board.changed_at = now()


def link_thread(incident: Incident, thread: Thread, author) -> None:
    """Attach a duplicate report to an incident; the thread hears where things stand.
    Commits."""
    if thread.incident_id == incident.id:
        return
    if thread.incident_id is not None:
        raise TravauxError("already-linked")
    add_link(incident, thread, author)
    db.session.commit()


def add_link(incident: Incident, thread: Thread, author) -> None:
    """link_thread's work, in the caller's transaction."""
    _link(incident, thread)
    if incident.last_update is not None:
        forum.add_post(thread, author, relay_text(incident.last_update), official=True)
    record(author, "incident.link", "incident", incident.id, thread=thread.id)
    queue_publish()


def unlink_thread(incident: Incident, thread: Thread, author) -> None:
    """Detach a thread from an incident it was linked to by mistake. Commits."""
    if thread.incident_id != incident.id:
        raise TravauxError("not-linked")
    thread.incident_id = None
    thread.resolved_at = None
    _touch(incident, thread)
    record(author, "incident.unlink", "incident", incident.id, thread=thread.id)
    queue_publish()
    db.session.commit()


def follow_windows() -> int:
    """Move maintenance along its window (scheduled → in progress → completed), as updates
    relayed like any other. A worker task; commits, and returns how many moved."""
    moved = 0
    stmt = select(Incident).where(Incident.kind == MAINTENANCE, Incident.resolved_at.is_(None),
                                  Incident.status_manual.is_(False))
    for incident in db.session.scalars(stmt).all():
        status = window_status(incident)
        if status == incident.status:
            continue
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            message = (_("The maintenance has started.") if status == "in_progress"
                       else _("The maintenance is over."))
        update = _add_update(incident, None, status, message, now())
        incident.status = status
        _relay(incident, update, _close_or_reopen(incident))
        events.emit(events.updated(incident, status), incident, update, notify=True)
        moved += 1
    if moved:
        queue_publish()
    db.session.commit()
    return moved


def save_service(service: Service | None, author, **fields) -> Service:
    """Create or change a service (an admin action, in the audit log). Commits."""
    for column, code in ((Service.slug, "slug-taken"), (Service.legacy_id, "legacy-taken")):
        value = fields.get(column.key)
        taken = value is not None and db.session.scalar(select(Service.id).where(column == value))
        if taken and (service is None or taken != service.id):
            raise TravauxError(code)
    if service is None:
        service = Service(**fields)
        db.session.add(service)
        db.session.flush()
        record(author, "service.create", "service", service.id, slug=service.slug)
    else:
        for key, value in fields.items():
            setattr(service, key, value)
        record(author, "service.update", "service", service.id, slug=service.slug)
    _touch_service(service)
    queue_publish()
    db.session.commit()
    return service


def linked_thread_visibility_changed(thread: Thread) -> None:
    """A linked thread hidden, shown or moved changes its incident's items (they list it).
    Receives the forum's `thread_visibility_changed`, in the forum's transaction."""
    if thread.incident_id is not None:
        incident = db.session.get(Incident, thread.incident_id)
        incident.updated_at = now()
        queue_publish()


def _touch_service(service: Service) -> None:
    """A renamed service changes the items of every incident that names it."""
    db.session.flush()
    moment = now()
    for incident in db.session.scalars(select(Incident).where(
            Incident.services.any(Service.id == service.id))):
        incident.updated_at = moment


# Labels shared by pages, feeds and mail ------------------------------------------------

STATUS_LABELS = {
    "investigating": _l("Investigating"), "identified": _l("Identified"),
    "monitoring": _l("Monitoring"), "resolved": _l("Resolved"),
    "scheduled": _l("Scheduled"), "in_progress": _l("In progress"),
    "completed": _l("Completed"), "cancelled": _l("Cancelled"),
}
IMPACT_LABELS = {"none": _l("No impact"), "minor": _l("Minor"), "major": _l("Major"),
                 "critical": _l("Critical")}
LEVEL_LABELS = {"operational": _l("Operational"), "maintenance": _l("Under maintenance"),
                "degraded": _l("Degraded performance"), "partial_outage": _l("Partial outage"),
                "major_outage": _l("Major outage")}


# Each table is translated once per request (board/i18n.py): these run thousands of times in
# an export, and 90 times a service on `/travaux/`.
def status_label(status: str) -> str:
    """The words for an operation's status, in the current language."""
    return i18n.label(STATUS_LABELS, status)


def impact_label(impact: str) -> str:
    """The words for an impact, in the current language."""
    return i18n.label(IMPACT_LABELS, impact)


def kind_label(kind: str) -> str:
    """"incident" or "maintenance", in the current language."""
    return _("maintenance") if kind == MAINTENANCE else _("incident")


def level_label(level: str) -> str:
    """The words for a service status level, in the current language."""
    return i18n.label(LEVEL_LABELS, level)


# Republishing the independent status site --------------------------------------------------

PUBLISH = "publish"


def queue_publish() -> None:
    """Queue one publish job in the caller's transaction, unless one is already waiting.

    A waiting job locked by a worker is skipped (PostgreSQL's SKIP LOCKED): it may have read
    the database already, so this change gets a job of its own.
    """
    if not current_app.config["TRAVAUX_EXPORT_DIR"]:
        return
    waiting = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.kind == PUBLISH,
                                       OutboxMessage.sent_at.is_(None),
                                       OutboxMessage.failed_at.is_(None),
                                       OutboxMessage.attempts == 0)
        .limit(1).with_for_update(skip_locked=True))
    if waiting is None:
        queue(PUBLISH, {"requested_at": now().isoformat()})
