"""The public status as data: the document behind `/api/v1/status`, the embed and the static
export, and the addresses of the community threads linked to incidents, as a guest sees them."""

from datetime import datetime

from flask import url_for
from sqlalchemy import select

from board.extensions import db
from board.forum.models import Thread
from board.travaux import services
from board.travaux.models import Incident
from board.urls import absolute
from board.visibility import GUEST, visible_threads


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def incident_json(incident: Incident, thread_urls: list[str]) -> dict:
    """One operation as the API shows it, with the addresses of its public threads."""
    last = incident.last_update
    return {
        "id": incident.id,
        "kind": incident.kind,
        "title": incident.title,
        "status": services.current_status(incident),
        "impact": incident.impact,
        "services": [s.slug for s in incident.services],
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "resolved_at": _iso(incident.resolved_at),
        "window": {"start": _iso(incident.window_start), "end": _iso(incident.window_end)}
        if incident.is_maintenance else None,
        "url": absolute(url_for("travaux.incident", incident_id=incident.id)),
        "threads": thread_urls,
        "last_update": {"status": last.status, "created_at": _iso(last.created_at),
                        "message": last.body_source} if last else None,
    }


def public_thread_urls(incident_ids: list[int]) -> dict[int, list[str]]:
    """Addresses of the public threads linked to these incidents, in one query."""
    urls: dict[int, list[str]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return urls
    stmt = visible_threads(
        select(Thread.incident_id, Thread.id, Thread.slug)
        .where(Thread.incident_id.in_(incident_ids)), GUEST).order_by(Thread.id)
    for incident_id, thread_id, slug in db.session.execute(stmt):
        urls[incident_id].append(absolute(url_for("forum.thread", thread_id=thread_id,
                                                  slug=slug)))
    return urls


def status_document() -> dict:
    """The public status, shared by the API, the embed and the static export."""
    overview = services.overview()
    operations = overview.ongoing + overview.upcoming
    urls = public_thread_urls([i.id for i in operations])
    return {
        "overall": overview.overall,
        "page_url": absolute(url_for("travaux.status")),
        "services": [{"slug": s.slug, "name": s.name, "status": overview.status_of(s)}
                     for s in overview.services],
        "ongoing": [incident_json(i, urls[i.id]) for i in overview.ongoing],
        "upcoming": [incident_json(i, urls[i.id]) for i in overview.upcoming],
    }
