"""STUB of the foundation's events interface (FOUNDATION.md), so that this branch runs before
the integrator's "Travaux: events ..." commit lands; main's version replaces it at merge."""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from board.clock import now
from board.travaux.models import Incident, IncidentUpdate

EVENT_TYPES = ("incident.opened", "incident.updated", "incident.resolved",
               "maintenance.announced", "maintenance.updated", "maintenance.rescheduled",
               "maintenance.cancelled", "maintenance.reminder", "maintenance.started",
               "maintenance.completed", "thread.promoted", "report.spike")


@dataclass(frozen=True)
class Event:
    type: str
    incident: Incident | None
    update: IncidentUpdate | None
    notify: bool
    data: dict = field(default_factory=dict)
    at: datetime = field(default_factory=now)


def add_listener(app, func, domain: str) -> None:
    """Call `func(event)` inside the transaction of every change."""
    app.extensions.setdefault("board.travaux.events", []).append((func, domain))


def emit(type: str, incident=None, update=None, notify=False, **data) -> Event:
    """Tell every listener, in the caller's transaction."""
    from board.extensions import db

    db.session.flush()
    event = Event(type, incident, update, notify, data, now())
    for func, _domain in current_app.extensions.get("board.travaux.events", []):
        func(event)
    return event
