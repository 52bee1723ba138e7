"""Pages of postmortems and of "Is it fixed for you?": the admin's editor (draft saved as one
types by postmortem.js, or by its "Save draft" button without JavaScript; a preview through
the same pipeline), action items, members' answers on the thread, the staff alert's two
actions, the account's opt-out; and the parts these add to the incident page, the thread
page and the reports page (Jinja globals: the templates only call them)."""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from board.accounts.models import User
from board.accounts.services import AccountError, read_token
from board.extensions import db, limiter
from board.forum.forms import ActionForm as CsrfForm
from board.forum.models import Thread
from board.permissions import confirmed_required, is_admin, is_staff, login_required, role_required
from board.travaux import fixed, postmortems
from board.travaux.models import Incident
from board.travaux.postmortem_forms import ActionForm, ActionStatusForm, PostmortemForm
from board.travaux.postmortem_models import ActionItem
from board.travaux.services import TravauxError
from board.visibility import visible_threads

bp = Blueprint("travaux_postmortems", __name__)

ERRORS = {
    "not-resolved": lambda: _("Only a resolved incident has a postmortem."),
    "published": lambda: _("The postmortem is published: its text no longer changes."),
    "empty": lambda: _("Write the postmortem before publishing it."),
    "too-long": lambda: _("The postmortem is too long."),
    "action-text": lambda: _("Say what will be done, in 300 characters at most."),
    "action-status": lambda: _("Choose a status."),
    "not-affected": lambda: _("Only the members affected are asked."),
}


def _incident(incident_id: int) -> Incident:
    return db.get_or_404(Incident, incident_id)


def _to_editor(incident: Incident):
    return redirect(url_for("travaux_postmortems.editor", incident_id=incident.id))


# The editor ------------------------------------------------------------------------------

@bp.route("/travaux/incidents/<int:incident_id>/postmortem", methods=["GET", "POST"])
@role_required("admin")
@limiter.limit("60 per minute", methods=["POST"])
def editor(incident_id: int):
    """Write, save, preview and publish; every button works without JavaScript."""
    incident = _incident(incident_id)
    postmortem = postmortems.postmortem_of(incident.id)
    form = PostmortemForm(formdata=None if request.method == "GET" else request.form,
                          body=postmortem.body_source if postmortem else "")
    preview = None
    if request.method == "POST" and form.validate_on_submit():
        action = request.form.get("submit", "save")
        try:
            if action == "publish":
                postmortems.publish(incident, current_user, form.body.data or "")
                flash(_("The postmortem is published, posted into the linked threads and "
                        "mailed to the members concerned."), "success")
                return redirect(url_for("travaux.incident", incident_id=incident.id,
                                        _anchor="postmortem"))
            if action == "preview":
                preview = Markup(postmortems.preview(form.body.data or ""))
            else:
                postmortem = postmortems.save_draft(incident, current_user, form.body.data or "")
                flash(_("The draft is saved."), "success")
                return _to_editor(incident)
        except TravauxError as error:
            form.body.errors = [*form.body.errors, ERRORS[str(error)]()]
    status = 422 if form.errors else 200
    return render_template("travaux/postmortem_form.html", incident=incident,
                           postmortem=postmortem, form=form, preview=preview,
                           action_form=ActionForm(formdata=None),
                           status_form=ActionStatusForm(formdata=None),
                           can_write=postmortems.can_have_postmortem(incident)), status


@bp.post("/travaux/incidents/<int:incident_id>/postmortem/draft")
@role_required("admin")
@limiter.limit("60 per minute")
def save_draft(incident_id: int):
    """postmortem.js's autosave: JSON in, JSON out (a 4xx says why)."""
    incident = _incident(incident_id)
    form = PostmortemForm()
    if not form.validate_on_submit():
        return jsonify(error=_("The draft could not be saved: reload the page.")), 400
    try:
        postmortem = postmortems.save_draft(incident, current_user, form.body.data or "")
    except TravauxError as error:
        return jsonify(error=ERRORS[str(error)]()), 409
    return jsonify(saved_at=postmortem.saved_at.isoformat(),
                   message=_("Draft saved at %(time)s", time=_clock(postmortem.saved_at)))


def _clock(moment) -> str:
    return format_time(moment, "HH:mm:ss")


@bp.post("/travaux/incidents/<int:incident_id>/postmortem/preview")
@role_required("admin")
@limiter.limit("60 per minute")
def preview(incident_id: int):
    """postmortem.js's preview: the HTML the text will have, nothing stored."""
    _incident(incident_id)
    form = PostmortemForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        return postmortems.preview(form.body.data or "")
    except TravauxError as error:
        return ERRORS[str(error)](), 413


# Action items -----------------------------------------------------------------------------

@bp.post("/travaux/incidents/<int:incident_id>/postmortem/actions")
@role_required("admin")
def add_action(incident_id: int):
    incident = _incident(incident_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return _to_editor(incident)
    try:
        postmortems.add_action(incident, current_user, form.text.data, form.status.data)
    except TravauxError as error:
        flash(ERRORS[str(error)](), "error")
    else:
        flash(_("The action is added."), "success")
    return _to_editor(incident)


@bp.post("/travaux/postmortem-actions/<int:action_id>")
@role_required("admin")
def change_action(action_id: int):
    action = db.get_or_404(ActionItem, action_id)
    incident = action.postmortem.incident
    form = ActionStatusForm()
    if not form.validate_on_submit():
        abort(400)
    postmortems.change_action(action, current_user, form.status.data)
    flash(_("The action is updated."), "success")
    return _to_editor(incident)


@bp.post("/travaux/postmortem-actions/<int:action_id>/remove")
@role_required("admin")
def remove_action(action_id: int):
    action = db.get_or_404(ActionItem, action_id)
    incident = action.postmortem.incident
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        postmortems.remove_action(action, current_user)
    except TravauxError as error:
        flash(ERRORS[str(error)](), "error")
    return _to_editor(incident)


# "Is it fixed for you?" ---------------------------------------------------------------------

@bp.post("/threads/<int:thread_id>/fixed")
@confirmed_required
@limiter.limit("30 per hour")
def answer(thread_id: int):
    """A member's one click: "yes" or "no"; back to the thread's question."""
    thread = db.first_or_404(visible_threads(select(Thread).where(Thread.id == thread_id),
                                             current_user))
    if not CsrfForm().validate_on_submit() or request.form.get("fixed") not in ("yes", "no"):
        abort(400)
    if thread.incident_id is None:
        abort(404)
    incident = db.get_or_404(Incident, thread.incident_id)
    is_fixed = request.form["fixed"] == "yes"
    try:
        fixed.answer(incident, current_user, is_fixed, thread)
    except TravauxError as error:
        flash(ERRORS.get(str(error), ERRORS["not-resolved"])(), "error")
    else:
        flash(_("Thank you: glad it works again.") if is_fixed else
              _("Thank you: the team is told that it still fails for you."), "success")
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug,
                            _anchor="fixed"))


@bp.post("/travaux/incidents/<int:incident_id>/fixed/reopen")
@role_required("admin")
def reopen(incident_id: int):
    incident = _incident(incident_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    if not fixed.asks(incident):
        flash(ERRORS["not-resolved"](), "error")
    else:
        fixed.reopen(incident, current_user)
        flash(_("The incident is reopened."), "success")
    return redirect(url_for("travaux.incident", incident_id=incident.id))


@bp.post("/travaux/incidents/<int:incident_id>/fixed/dismiss")
@role_required("moderator")
def dismiss(incident_id: int):
    incident = _incident(incident_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    fixed.dismiss(incident, current_user)
    flash(_("The alert is dismissed: the incident stays resolved."), "info")
    return redirect(url_for("travaux.incident", incident_id=incident.id, _anchor="fixed"))


# The account's opt-out ------------------------------------------------------------------------

@bp.post("/account/postmortems")
@login_required
def opt_out():
    if not CsrfForm().validate_on_submit():
        abort(400)
    wanted = request.form.get("postmortem_mail") == "y"
    postmortems.set_opt_out(current_user, not wanted)
    flash(_("Your choice is saved."), "success")
    return redirect(url_for("accounts.account", _anchor="postmortem-mail"))


@bp.route("/postmortems/stop/<token>", methods=["GET", "POST"])
def opt_out_by_mail(token: str):
    """The link in every postmortem mail: a page with a button, no login needed."""
    try:
        [user_id] = read_token(postmortems.OPT_OUT, token, postmortems.OPT_OUT_MAX_AGE)
    except (AccountError, ValueError):
        abort(404)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = CsrfForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        postmortems.set_opt_out(user, True)
    return render_template("travaux/postmortem_stopped.html", form=form,
                           done=request.method == "POST")


def account_section() -> Markup:
    """The account page's card (app.extensions["account_sections"])."""
    return Markup(render_template("travaux/_postmortem_opt_out.html",
                                  wanted=not postmortems.opted_out(current_user),
                                  form=CsrfForm()))


# What the shared pages show -----------------------------------------------------------------

def incident_part(incident: Incident) -> Markup:
    """The incident page's postmortem, and for staff the answers and the alert. No query for
    an incident that is not closed, to guests."""
    staff, admin = is_staff(current_user), is_admin(current_user)
    postmortem = postmortems.postmortem_of(incident.id) if incident.is_closed else None
    if postmortem is not None and not postmortem.is_published and not admin:
        postmortem = None
    context: dict = {"incident": incident, "postmortem": postmortem, "admin": admin,
               "can_write": admin and postmortems.can_have_postmortem(incident)}
    if staff and fixed.asks(incident):
        context.update(counts=fixed.counts(incident), alert=fixed.alert_for(incident),
                       form=CsrfForm())
    return Markup(render_template("travaux/_postmortem.html", **context))


def thread_part(thread: Thread) -> Markup:
    """The question on a thread, for a member asked (no query on an unresolved thread)."""
    asked = fixed.question(thread, current_user)
    if asked is None:
        return Markup("")
    return Markup(render_template("travaux/_fixed_question.html", thread=thread,
                                  question=asked, form=CsrfForm()))


def reports_part() -> Markup:
    """The reports page's alerts: incidents members say are not fixed."""
    alerts = fixed.open_alerts()
    if not alerts:
        return Markup("")
    return Markup(render_template("travaux/_fixed_alerts.html", alerts=alerts))
