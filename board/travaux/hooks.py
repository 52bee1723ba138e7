"""What Travaux adds to every page: the banner of ongoing operations, the incident box of a
linked thread, the notice above the new-thread form. The forum's templates call these when
they exist, so the forum never imports Travaux."""

from flask import g, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from board.extensions import db
from board.forum import moderation
from board.travaux import services
from board.travaux.models import Incident, Service


def ongoing():
    """Ongoing operations for this request, loaded once. A database failure is not hidden
    here: it turns the whole page into the 503 page, which draws no banner."""
    if "travaux_ongoing" not in g:
        g.travaux_ongoing = services.overview(with_services=False).ongoing
    return g.travaux_ongoing


def banner() -> Markup:
    if g.get("database_down"):
        return Markup("")  # the 503 page: nothing here may touch the database
    return Markup(render_template("travaux/_banner.html", operations=ongoing()))


def ongoing_notice() -> Markup:
    operations = ongoing()
    if not operations:
        return Markup("")
    return Markup(render_template("travaux/_ongoing_notice.html", operations=operations))


def thread_box(thread) -> Markup:
    """The incident box above a linked thread's posts, or the promote button for admins."""
    incident = None
    if thread.incident_id:
        incident = db.session.scalar(
            select(Incident).where(Incident.id == thread.incident_id)
            .options(joinedload(Incident.last_update)))
    elif not (current_user.is_authenticated and current_user.is_admin):
        return Markup("")
    return Markup(render_template("travaux/_thread_box.html", thread=thread, incident=incident))


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


def _services(ids, viewer) -> dict[int, Markup]:
    rows = db.session.execute(select(Service.id, Service.name).where(Service.id.in_(ids))).all()
    admin = getattr(viewer, "is_admin", False)
    return {service_id: moderation.link(name, url_for(
        "travaux.service_form", service_id=service_id) if admin else None)
        for service_id, name in rows}


def init_app(app) -> None:
    moderation.add_target("incident", _incidents)
    moderation.add_target("service", _services)
    moderation.add_statuses(services.STATUS_LABELS)
    app.jinja_env.globals.update(
        travaux_banner=banner, travaux_thread_box=thread_box, travaux_ongoing_notice=ongoing_notice,
        status_label=services.status_label, impact_label=services.impact_label,
        kind_label=services.kind_label, level_label=services.level_label,
        current_status=services.current_status)
