"""Page parts Travaux adds to the forum's pages: the banner of ongoing operations, the
incident box of a linked thread, the notice above the new-thread form. They are Jinja globals
registered by Travaux's init_app; the forum's templates call them when they exist, so the
forum never imports Travaux."""

from contextlib import nullcontext

from flask import current_app, g, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from board import stampmemo
from board.extensions import db
from board.pagecache import MemoryStore, is_guest
from board.travaux import mine, services, spikes
from board.travaux.models import Incident, Service
from board.travaux.stamps import banner_stamp


def ongoing():
    """Ongoing operations for this request, loaded once. A database failure is not hidden
    here: it turns the whole page into the 503 page, which draws no banner."""
    if "travaux_ongoing" not in g:
        g.travaux_ongoing = services.overview(with_services=False).ongoing
    return g.travaux_ongoing


def banner() -> Markup:
    """The banner of ongoing operations, drawn once per change of Travaux (its stamp) and
    language, and kept GUEST_CACHE_SECONDS at most (it says "updated 5 minutes ago"): on a
    page not served from the guest cache, it costs the stamp's one query."""
    if g.get("database_down"):
        return Markup("")  # the 503 page: nothing here may touch the database
    if g.get("static_export"):
        return Markup(render_template("travaux/_banner.html", operations=ongoing()))
    # A guest's stamp may come from those kept between changes; a member's is read afresh.
    with stampmemo.for_a_guest() if is_guest() else nullcontext():
        stamp = banner_stamp()
    key = (stamp, str(get_locale()), request.host_url)
    html = _drawn(key, lambda: {"operations": ongoing()})
    # A member's services are read only when there is something to put first: a calm day
    # costs them nothing. Their banner is kept per choice of services (board/travaux/mine.py).
    if html and (chosen := mine.my_service_ids()):
        keep_only = mine.only_mine()
        html = _drawn(key + (tuple(sorted(chosen)), keep_only), lambda: {
            "operations": mine.mine_first(ongoing(), chosen, keep_only),
            "hidden": sum(not mine.concerns(i, chosen) for i in ongoing()) if keep_only else 0,
            "mine": chosen, "only_mine": keep_only})
    return html


def _drawn(key: tuple, context) -> Markup:
    """The banner drawn for `key`, from the store or from `context()` (then kept)."""
    banners = current_app.extensions["travaux_banners"]
    if (html := banners.get(repr(key))) is None:
        html = Markup(render_template("travaux/_banner.html", **context()))
        banners.set(repr(key), html, current_app.config["GUEST_CACHE_SECONDS"])
    return html


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


def suspected_alert() -> Markup:
    """For staff: the suspected incidents open now, in their bar (one query)."""
    if g.get("database_down") or not (current_user.is_authenticated and current_user.is_staff):
        return Markup("")
    return Markup(render_template("travaux/_suspected_alert.html",
                                  suspects=spikes.open_suspects()))


def report_services() -> list[tuple[int, str]]:
    """The services a report may name, in their order: the forum's forms offer them."""
    return [(service.id, service.name) for service in services.all_services()]


def service_name(service_id: int) -> str:
    """A service's name, for the forum's pages: every name read once per request."""
    if "travaux_service_names" not in g:
        g.travaux_service_names = dict(db.session.execute(select(Service.id, Service.name)).all())
    return g.travaux_service_names.get(service_id, "")


def init_app(app) -> None:
    """The page parts and Travaux's labels, as Jinja globals; the banners drawn so far."""
    # Guests share one banner per language; members one per choice of services.
    app.extensions["travaux_banners"] = MemoryStore(size=256)
    app.extensions["report_services"] = report_services
    app.extensions["service_name"] = service_name
    app.jinja_env.globals.update(
        travaux_banner=banner, travaux_thread_box=thread_box, travaux_ongoing_notice=ongoing_notice,
        status_label=services.status_label, impact_label=services.impact_label,
        kind_label=services.kind_label, level_label=services.level_label,
        service_name=service_name, travaux_suspected_alert=suspected_alert,
        current_status=services.current_status)
