"""What happens on Travaux, told to whoever listens: subscribers' mail, webhooks, the relay.

The operations of `board.travaux.services` (and the worker's tasks) call `emit` inside the
transaction of their change; each listener a domain registered with `add_listener` is then
called with the `Event` and may only add rows to the session (outbox rows, mostly), which
commit or roll back with the change itself. Nothing leaves the database from here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from board.clock import now
from board.extensions import db
from board.travaux.models import MAINTENANCE, Incident, IncidentUpdate

EVENT_TYPES = ("incident.opened", "incident.updated", "incident.resolved", "incident.postmortem",
               "maintenance.announced", "maintenance.updated", "maintenance.rescheduled",
               "maintenance.cancelled", "maintenance.reminder", "maintenance.started",
               "maintenance.completed", "thread.promoted", "report.spike")

# The event an update tells, by the status it brings: anything else is a plain update.
_BY_STATUS = {"resolved": "incident.resolved", "in_progress": "maintenance.started",
              "completed": "maintenance.completed", "cancelled": "maintenance.cancelled"}


@dataclass(frozen=True)
class Event:
    """One thing that happened, as listeners see it.

    `notify` says whether people are to be told by mail: the admin's "notify" box for their
    own actions, always for what the worker does (a maintenance starting, a reminder).
    `data` holds what the type adds, JSON-able: `previous_start`/`previous_end` (ISO, UTC) for
    a reschedule, `lead_minutes` for a reminder, `thread_id` for a promotion, `suspect_id`,
    `service_id` and `signals` for a spike, `postmortem_url` and `published_at` for a
    postmortem.
    """

    type: str
    incident: Incident | None = None
    update: IncidentUpdate | None = None
    notify: bool = False
    data: dict = field(default_factory=dict)
    at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class Listener:
    func: Callable[[Event], None]
    domain: str

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


def listeners(app=None) -> list[Listener]:
    """The listeners of `app` (the current application by default), in registration order."""
    return (app or current_app).extensions.setdefault("travaux.events", [])


def add_listener(app, func: Callable[[Event], None], domain: str) -> None:
    """Call `func(event)` with every event, inside the transaction of its change."""
    listeners(app).append(Listener(func, domain))


def emit(type: str, incident: Incident | None = None, update: IncidentUpdate | None = None,
         notify: bool = False, **data) -> Event:
    """Tell every listener that `type` happened, in the caller's transaction."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    db.session.flush()  # listeners read ids and relationships
    event = Event(type, incident, update, notify, data)
    for listener in listeners():
        listener.func(event)
    return event


def opened(incident: Incident) -> str:
    """The type of an operation's opening."""
    return "maintenance.announced" if incident.kind == MAINTENANCE else "incident.opened"


def updated(incident: Incident, status: str) -> str:
    """The type of an update bringing `status` to `incident`."""
    kind = "maintenance" if incident.kind == MAINTENANCE else "incident"
    named = _BY_STATUS.get(status, "")
    return named if named.startswith(kind) else f"{kind}.updated"
