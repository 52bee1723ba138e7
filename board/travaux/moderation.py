"""How the forum's moderation log names Travaux's targets (the forum cannot import Travaux,
so Travaux's init_app hands it these)."""

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from board.extensions import db
from board.forum import moderation
from board.travaux import services
from board.travaux.models import Incident, Service


def _incidents(ids, viewer) -> dict[int, Markup]:
    """Incidents in the moderation log: « the maintenance “Title” », linked."""
    rows = db.session.execute(select(Incident.id, Incident.kind, Incident.title)
                              .where(Incident.id.in_(ids))).all()
    named = {}
    for incident_id, kind, title in rows:
        words = _("the maintenance %(title)s") if kind == "maintenance" else \
            _("the incident %(title)s")
        named[incident_id] = escape(words) % {"title": moderation.link(
            title, url_for("travaux.incident", incident_id=incident_id))}
    return named


def init_app(app) -> None:
    """Name incidents and services, and translate statuses, in the moderation log."""
    moderation.add_target("incident", _incidents)
    moderation.add_target("service", moderation.named_by(
        Service.id, Service.name, "travaux.service_form", "service_id"))
    moderation.add_statuses(services.STATUS_LABELS)
