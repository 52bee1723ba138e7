"""Travaux feeds: all incidents and maintenance (narrowed by ?service=), updates of one.

Titles carry the state ("[Résolu] Messagerie : lenteurs"); a maintenance's window is in the
text, never in the dates, which are when things were published.
"""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from board import feeds
from board.extensions import db
from board.forum.models import Board
from board.pagecache import guest_cached
from board.travaux import postmortems, services
from board.travaux.calendar import calendar_directory
from board.travaux.models import Incident, IncidentUpdate, Service, incident_services
from board.travaux.stamps import travaux_stamp
from board.travaux.status import public_thread_urls
from board.urls import absolute
from board.visibility import GUEST, visible_boards

bp = Blueprint("travaux_feeds", __name__)
FORMATS = "<any(rss,atom):fmt>"


def incident_url(incident: Incident, **kwargs) -> str:
    return absolute(url_for("travaux.incident", incident_id=incident.id, **kwargs))


def state_title(incident: Incident, status: str | None = None) -> str:
    return f"[{services.status_label(status or services.current_status(incident))}] " \
           f"{incident.title}"


def _facts(incident: Incident, threads: list[str]) -> Markup:
    """The incident's impact, services, window and community threads, as feed HTML."""
    parts = [Markup("<p>{}</p>").format(" · ".join(filter(None, [
        services.kind_label(incident.kind).capitalize(),
        None if incident.is_maintenance else _("Impact: %(impact)s",
                                               impact=services.impact_label(incident.impact)),
        ", ".join(s.name for s in incident.services),
    ])))]
    if incident.window_start:
        parts.append(Markup("<p>{}</p>").format(_(
            "Planned window: %(start)s – %(end)s (Paris time)",
            start=_paris(incident.window_start), end=_paris(incident.window_end))))
    if threads:
        links = Markup(", ").join(Markup('<a href="{}">{}</a>').format(u, u) for u in threads)
        parts.append(Markup("<p>{} {}</p>").format(_("Community threads:"), links))
    return Markup("\n").join(parts)


def _paris(moment) -> str:
    return format_datetime(moment, "d MMM yyyy HH:mm")


def _stamp(slug: str | None):
    """The feed's stamp and the service it is narrowed to, in one query; abort(404) for an
    unknown service."""
    stamp = select(func.max(Incident.updated_at), func.count(Incident.id))
    if slug is None:
        return feeds.Stamp(*db.session.execute(stamp).one()), None
    row = db.session.execute(
        stamp.add_columns(Service.id, Service.name).select_from(Service)
        .outerjoin(incident_services, incident_services.c.service_id == Service.id)
        .outerjoin(Incident, Incident.id == incident_services.c.incident_id)
        .where(Service.slug == slug).group_by(Service.id, Service.name)).first()
    if row is None:
        abort(404)
    changed_at, count, service_id, name = row
    return feeds.Stamp(changed_at, count), (service_id, name)


@bp.get(f"/travaux/feed.{FORMATS}")
@guest_cached(travaux_stamp)
def feed(fmt: str):
    stamp, service = _stamp(request.args.get("service"))
    if (cached := feeds.not_modified(stamp, fmt)) is not None:
        return cached
    items_stmt = (select(Incident)
                  .options(joinedload(Incident.last_update), joinedload(Incident.author))
                  .order_by(Incident.created_at.desc(), Incident.id.desc())
                  .limit(feeds.MAX_ITEMS))
    if service is not None:
        items_stmt = items_stmt.where(Incident.services.any(Service.id == service[0]))
    incidents = db.session.scalars(items_stmt).unique().all()
    threads = public_thread_urls([i.id for i in incidents])
    with force_locale(feeds.language()):
        name = service[1] if service else None
        return feeds.respond(
            fmt, stamp,
            title=_("Travaux: %(service)s", service=name) if name else _("Travaux"),
            subtitle=_("Incidents and maintenance of our services."),
            page_url=absolute(url_for("travaux.status")), language=feeds.language(),
            items=_newest([_incident_item(i, threads[i.id]) for i in incidents]
                          + postmortems.feed_items(service_id=service[0] if service else None)))


def _newest(items: list[feeds.Item]) -> list[feeds.Item]:
    """Incidents and their postmortems in one feed: the newest published first."""
    return sorted(items, key=lambda item: item.published, reverse=True)[:feeds.MAX_ITEMS]


def _incident_item(incident: Incident, threads: list[str]) -> feeds.Item:
    last = incident.last_update
    html = _facts(incident, threads)
    if last is not None:
        html += Markup("\n<p><strong>{}</strong></p>\n").format(
            services.status_label(last.status)) + Markup(feeds.absolute_html(last.body_html))
    return feeds.Item(
        key=f"incident-{incident.id}", title=state_title(incident), link=incident_url(incident),
        published=incident.created_at, updated=incident.updated_at, html=str(html),
        author=incident.author.name if incident.author else current_app.config["FEED_AUTHOR"],
        categories=_categories(incident))


def _categories(incident: Incident, status: str | None = None) -> list[tuple[str, str]]:
    status = status or services.current_status(incident)
    return ([(incident.kind, services.kind_label(incident.kind)),
             (status, services.status_label(status))]
            + [(s.slug, s.name) for s in incident.services])


@bp.get(f"/travaux/incidents/<int:incident_id>/feed.{FORMATS}")
@guest_cached(travaux_stamp)
def incident_feed(incident_id: int, fmt: str):
    stamp = feeds.stamp_or_404(db.session.execute(
        select(Incident.updated_at, func.count(IncidentUpdate.id))
        .outerjoin(IncidentUpdate, IncidentUpdate.incident_id == Incident.id)
        .where(Incident.id == incident_id).group_by(Incident.id)).first())
    if (cached := feeds.not_modified(stamp, fmt)) is not None:
        return cached
    incident = db.session.get(Incident, incident_id)
    updates = db.session.scalars(
        select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id)
        .options(joinedload(IncidentUpdate.author))
        .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())
        .limit(feeds.MAX_ITEMS)).all()
    threads = public_thread_urls([incident.id])[incident.id]
    with force_locale(feeds.language()):
        facts = _facts(incident, threads)
        items = [feeds.Item(
            key=f"update-{u.id}", title=state_title(incident, u.status),
            link=incident_url(incident, _anchor=f"update-{u.id}"), published=u.created_at,
            updated=u.created_at, html=str(facts + Markup("\n") + Markup(
                feeds.absolute_html(u.body_html))),
            author=u.author.name if u.author else current_app.config["FEED_AUTHOR"],
            categories=_categories(incident, u.status)) for u in updates]
        if incident.resolved_at is not None:  # only a resolved incident has a postmortem
            items = _newest(items + postmortems.feed_items(incident_id=incident.id))
        return feeds.respond(
            fmt, stamp, title=_("Travaux: %(title)s", title=incident.title),
            subtitle=_("Updates of this maintenance.") if incident.is_maintenance
            else _("Updates of this incident."),
            page_url=incident_url(incident), language=feeds.language(), items=items)


@bp.get("/feed.php")
def legacy_feed():
    """The old Travaux's feed address: a permanent redirect to the closest feed we serve."""
    fmt = "atom" if request.args.get("feed_type", "rss2") == "atom" else "rss"
    project = request.args.get("project", "0")
    service = None
    if project.isascii() and project.isdigit() and 0 < int(project) < 2**31:
        service = db.session.scalar(select(Service).where(Service.legacy_id == int(project)))
    return redirect(url_for("travaux_feeds.feed", fmt=fmt,
                            service=service.slug if service else None), 301)


def feed_directory() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Every public feed, grouped: (group, [(title, feed path without extension, page path)])."""
    boards = db.session.scalars(visible_boards(
        select(Board).order_by(Board.position, Board.name), GUEST)).all()
    all_services = services.all_services()
    travaux = url_for("travaux.status")
    return [
        (_("Travaux"), [(_("All incidents and maintenance"), "/travaux/feed", travaux)] + [
            (_("Travaux: %(service)s", service=s.name), f"/travaux/feed?service={s.slug}",
             travaux) for s in all_services]),
        (_("Forums"), [(_("Latest threads of every board"), "/feed", url_for("forum.index"))] + [
            (_("Board %(board)s", board=b.name), f"/boards/{b.slug}/feed",
             url_for("forum.board", slug=b.slug)) for b in boards]),
    ]


def _with_format(path: str, fmt: str) -> str:
    base, _sep, query = path.partition("?")
    return f"{base}.{fmt}" + (f"?{query}" if query else "")


@bp.get("/feeds")
def feed_list():
    return render_template("travaux/feeds.html", groups=feed_directory(),
                           with_format=_with_format, calendars=calendar_directory())


@bp.get("/feeds.opml")
def feed_opml():
    """Every feed in one OPML file, to import them all into a reader at once."""
    body = render_template("travaux/feeds.opml.xml", groups=feed_directory(),
                           with_format=_with_format, base=current_app.config["BASE_URL"],
                           calendars=calendar_directory())
    return body, 200, {"Content-Type": "text/x-opml; charset=utf-8",
                       "Content-Disposition": 'attachment; filename="communaute.opml"'}
