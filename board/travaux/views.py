"""Travaux pages: the status page, incidents, promotion, services, reports to watch."""

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from board.clock import now
from board.extensions import db
from board.forum.forms import ActionForm
from board.forum.models import Affected, Thread
from board.forum.services import thread_number
from board.pagecache import guest_cached
from board.permissions import role_required
from board.travaux import forms, mine, services, spikes, template_fill
from board.travaux.models import Incident, IncidentUpdate, Service, SuspectedIncident
from board.travaux.services import TravauxError
from board.travaux.stamps import travaux_stamp
from board.visibility import visible_threads

bp = Blueprint("travaux", __name__)

ERRORS = {
    "impact": lambda: _("Choose an impact."),
    "status": lambda: _("This status does not apply to this kind of operation."),
    "window-missing": lambda: _("A maintenance needs a start and an end."),
    "window-order": lambda: _("The end of the window must come after its start."),
    "window-past": lambda: _("The new window is already over."),
    "same-window": lambda: _("This is already the planned window."),
    "not-maintenance": lambda: _("Only a maintenance has a window to move."),
    "closed": lambda: _("This operation is closed: tick “reopen” to give it another status."),
    "already-linked": lambda: _("This thread is already linked to an incident."),
    "not-linked": lambda: _("This thread is not linked to this incident."),
    "slug-taken": lambda: _("Another service already uses this address."),
    "legacy-taken": lambda: _("Another service already has this project number."),
}


def get_incident(incident_id: int) -> Incident:
    """The incident with its latest update; abort(404) when there is none."""
    stmt = (select(Incident).where(Incident.id == incident_id)
            .options(joinedload(Incident.last_update)))
    return db.first_or_404(stmt)


@bp.get("/travaux/")
@guest_cached(travaux_stamp)
def status():
    overview = mine.arrange(services.overview())  # a member's services first, or alone
    history = db.paginate(
        mine.narrow(select(Incident).where(Incident.resolved_at.is_not(None)))
        .order_by(Incident.created_at.desc(), Incident.id.desc()),
        per_page=20, max_per_page=50)
    return render_template("travaux/status.html", overview=overview, history=history)


@bp.get("/travaux/incidents/<int:incident_id>")
@guest_cached(travaux_stamp)
def incident(incident_id: int):
    incident = get_incident(incident_id)
    updates = db.session.scalars(
        select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id)
        .options(joinedload(IncidentUpdate.author))
        .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())).all()
    threads = db.session.scalars(visible_threads(
        select(Thread).where(Thread.incident_id == incident.id)
        .options(joinedload(Thread.author)).order_by(Thread.created_at), current_user)).all()
    context = {"incident": incident, "updates": updates, "threads": threads,
               "affected_total": sum(t.affected_count for t in threads)}
    if current_user.is_authenticated and current_user.is_admin:
        context["update_form"] = _update_form(incident, formdata=None)
        context["link_form"] = forms.LinkForm(formdata=None)
        if incident.is_maintenance and not incident.is_closed:
            context["reschedule_form"] = _reschedule_form(incident, formdata=None)
    return render_template("travaux/incident.html", **context)


def _reschedule_form(incident: Incident, **kwargs) -> forms.RescheduleForm:
    form = forms.RescheduleForm(**kwargs)
    if form.window_start.data is None and incident.window_start:
        form.window_start.data = forms.to_paris(incident.window_start)
    if form.window_end.data is None and incident.window_end:
        form.window_end.data = forms.to_paris(incident.window_end)
    return form


@bp.post("/travaux/incidents/<int:incident_id>/reschedule")
@role_required("admin")
def reschedule(incident_id: int):
    incident = get_incident(incident_id)
    form = _reschedule_form(incident)
    if form.validate_on_submit():
        try:
            update = services.reschedule(
                incident, current_user, forms.to_utc(form.window_start.data),
                forms.to_utc(form.window_end.data), form.message.data or "",
                notify=form.notify.data)
        except TravauxError as error:
            code = str(error)
            target = form.window_start if code in ("window-past", "same-window") \
                else form.window_end
            target.errors = [*target.errors, ERRORS[code]()]
        else:
            flash(_("The maintenance is rescheduled."), "success")
            return redirect(url_for("travaux.incident", incident_id=incident.id,
                                    _anchor=f"update-{update.id}"))
    return render_template("travaux/reschedule_form.html", incident=incident, form=form), 422


def _update_form(incident: Incident, **kwargs) -> forms.UpdateForm:
    form = forms.UpdateForm(**kwargs)
    form.status.choices = [(s, services.status_label(s)) for s in incident.statuses]
    if form.status.data is None:
        form.status.data = services.current_status(incident)
    return form


@bp.get("/travaux/incidents/<int:incident_id>/updates/new")
@role_required("admin")
def new_update(incident_id: int):
    """The update form alone, filled from a template (?template=<name>) when asked."""
    incident = get_incident(incident_id)
    form = _update_form(incident, formdata=None)
    template_fill.prefill(form)
    return render_template("travaux/update_form.html", incident=incident, form=form)


@bp.post("/travaux/incidents/<int:incident_id>/updates")
@role_required("admin")
def post_update(incident_id: int):
    incident = get_incident(incident_id)
    form = _update_form(incident)
    if form.validate_on_submit():
        try:
            update = services.post_update(incident, current_user, form.status.data,
                                          form.message.data, reopen=form.reopen.data,
                                          notify=form.notify.data)
        except TravauxError as error:
            form.status.errors.append(ERRORS[str(error)]())
        else:
            flash(_("The update is published."), "success")
            return redirect(url_for("travaux.incident", incident_id=incident.id,
                                    _anchor=f"update-{update.id}"))
    return render_template("travaux/update_form.html", incident=incident, form=form), 422


def _service_choices(form) -> dict[int, Service]:
    """Fill the services checkboxes; the services by id, for reading the answer."""
    all_services = services.all_services()
    form.services.choices = [(s.id, s.name) for s in all_services]
    return {s.id: s for s in all_services}


def _incident_fields(form, by_id) -> dict:
    return {
        "kind": form.kind.data, "title": form.title.data, "impact": form.impact.data,
        "services": [by_id[i] for i in form.services.data or [] if i in by_id],
        "message": form.message.data, "status": form.status.data or None,
        "window": (forms.to_utc(form.window_start.data), forms.to_utc(form.window_end.data)),
        "notify": form.notify.data,
    }


@bp.route("/travaux/incidents/new", methods=["GET", "POST"])
@role_required("admin")
def new_incident():
    form = forms.IncidentForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind", "incident")
    by_id = _service_choices(form)
    if request.method == "GET":
        template_fill.prefill(form)
    if form.validate_on_submit():
        try:
            incident = services.open_incident(current_user, **_incident_fields(form, by_id))
        except TravauxError as error:
            _attach_error(form, str(error))
        else:
            flash(_("The operation is published."), "success")
            return redirect(url_for("travaux.incident", incident_id=incident.id))
    return render_template("travaux/incident_form.html", form=form, thread=None), (
        422 if form.errors else 200)


@bp.route("/threads/<int:thread_id>/promote", methods=["GET", "POST"])
@role_required("admin")
def promote(thread_id: int):
    thread = db.first_or_404(visible_threads(select(Thread).where(Thread.id == thread_id),
                                             current_user))
    if thread.incident_id:
        flash(ERRORS["already-linked"](), "error")
        return redirect(url_for("travaux.incident", incident_id=thread.incident_id))
    form = forms.IncidentForm()
    by_id = _service_choices(form)
    if request.method == "GET":  # filled from the report: one click publishes it
        form.title.data = thread.title
        form.message.data = _("We are looking into the problem reported by our members.")
        form.impact.data = services.guess_impact(thread.affected_count)
        if thread.service_id in by_id:
            form.services.data = [thread.service_id]
        template_fill.prefill(form)
    if form.validate_on_submit():
        try:
            incident = services.promote(thread, current_user, **_incident_fields(form, by_id))
        except TravauxError as error:
            _attach_error(form, str(error))
        else:
            flash(_("The report is now an official incident."), "success")
            return redirect(url_for("travaux.incident", incident_id=incident.id))
    return render_template("travaux/incident_form.html", form=form, thread=thread), (
        422 if form.errors else 200)


def _attach_error(form, code: str) -> None:
    field = {"impact": form.impact, "status": form.status, "window-missing": form.window_start,
             "window-order": form.window_end}.get(code, form.title)
    field.errors = list(field.errors) + [ERRORS[code]()]


@bp.post("/travaux/incidents/<int:incident_id>/link")
@role_required("admin")
def link(incident_id: int):
    incident = get_incident(incident_id)
    form = forms.LinkForm()
    number = thread_number(form.thread.data) if form.validate_on_submit() else None
    thread = db.session.get(Thread, number) if number else None
    if thread is None:
        flash(_("No thread found at this address."), "error")
    else:
        try:
            services.link_thread(incident, thread, current_user)
        except TravauxError as error:
            flash(ERRORS[str(error)](), "error")
        else:
            flash(_("The thread is linked."), "success")
    return redirect(url_for("travaux.incident", incident_id=incident.id, _anchor="threads"))


@bp.post("/travaux/incidents/<int:incident_id>/unlink/<int:thread_id>")
@role_required("admin")
def unlink(incident_id: int, thread_id: int):
    incident = get_incident(incident_id)
    thread = db.get_or_404(Thread, thread_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.unlink_thread(incident, thread, current_user)
    except TravauxError as error:
        flash(ERRORS[str(error)](), "error")
    else:
        flash(_("The thread is no longer linked."), "success")
    return redirect(url_for("travaux.incident", incident_id=incident.id, _anchor="threads"))


@bp.get("/travaux/reports")
@role_required("moderator")
def reports():
    """Unpromoted reports, by how many members said "me too" in the last 24 hours."""
    recent = (select(Affected.thread_id, func.count().label("recent"))
              .where(Affected.created_at >= now() - timedelta(hours=24))
              .group_by(Affected.thread_id).subquery())
    stmt = visible_threads(
        select(Thread, recent.c.recent).join(recent, recent.c.thread_id == Thread.id)
        .where(Thread.incident_id.is_(None)).options(joinedload(Thread.author))
        .order_by(recent.c.recent.desc(), Thread.affected_count.desc()).limit(50),
        current_user)
    suspects = [(suspect, spikes.cluster(suspect)) for suspect in spikes.open_suspects()]
    return render_template("travaux/reports.html", rows=db.session.execute(stmt).all(),
                           suspects=suspects, action_form=ActionForm())


@bp.post("/travaux/suspected/<int:suspect_id>/promote")
@role_required("admin")
def promote_suspect(suspect_id: int):
    """One action: the burst's most affected report promoted, the others linked."""
    suspect = db.get_or_404(SuspectedIncident, suspect_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        incident = spikes.promote_cluster(suspect, current_user)
    except TravauxError:
        flash(_("This suspected incident is closed or has no report left to promote."), "error")
        return redirect(url_for("travaux.reports"))
    flash(_("The reports are now one official incident."), "success")
    return redirect(url_for("travaux.incident", incident_id=incident.id))


@bp.post("/travaux/suspected/<int:suspect_id>/dismiss")
@role_required("moderator")
def dismiss_suspect(suspect_id: int):
    suspect = db.get_or_404(SuspectedIncident, suspect_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    spikes.dismiss(suspect)
    flash(_("The suspected incident is dismissed."), "info")
    return redirect(url_for("travaux.reports"))


@bp.get("/travaux/services")
@role_required("admin")
def service_list():
    overview = services.overview()
    return render_template("travaux/services.html", overview=overview)


@bp.route("/travaux/services/new", methods=["GET", "POST"])
@bp.route("/travaux/services/<int:service_id>", methods=["GET", "POST"])
@role_required("admin")
def service_form(service_id: int | None = None):
    service = db.get_or_404(Service, service_id) if service_id else None
    form = forms.ServiceForm(obj=service)
    if form.validate_on_submit():
        fields = {k: form[k].data for k in ("name", "slug", "description", "position",
                                            "legacy_id")}
        try:
            services.save_service(service, current_user, **fields)
        except TravauxError as error:
            field = form.legacy_id if str(error) == "legacy-taken" else form.slug
            field.errors.append(ERRORS[str(error)]())
        else:
            flash(_("The service is saved."), "success")
            return redirect(url_for("travaux.service_list"))
    return render_template("travaux/service_form.html", form=form, service=service), (
        422 if form.errors else 200)


@bp.get("/travaux/incidents/<int:incident_id>/box")
@guest_cached(travaux_stamp)
def incident_box(incident_id: int):
    """The incident box of a linked thread, alone: board.js refreshes open threads with it."""
    incident = get_incident(incident_id)
    response = render_template("travaux/_thread_box.html", incident=incident, thread=None)
    return response, 200, {"Cache-Control": "public, max-age=30"}


@bp.get("/travaux/embed")
@guest_cached(travaux_stamp)
def embed():
    """The recap for the customer panel's iframe: self-contained, framable."""
    response = render_template("travaux/embed.html", overview=mine.arrange(services.overview()))
    return response, 200, {"Content-Security-Policy": _embed_csp()}


def _embed_csp() -> str:
    ancestors = current_app.config["TRAVAUX_EMBED_ANCESTORS"]
    return ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
            f"form-action 'none'; frame-ancestors {ancestors}")

