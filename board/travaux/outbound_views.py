"""Staff pages for what Travaux sends out by itself: webhooks and the social relay."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from board.extensions import db
from board.formfields import CsrfForm
from board.permissions import role_required
from board.travaux import relay, services, webhooks
from board.travaux.events import EVENT_TYPES
from board.travaux.outbound import WebhookDelivery, WebhookEndpoint
from board.travaux.outbound_forms import EVENT_LABELS, EndpointForm, RelayForm

bp = Blueprint("outbound", __name__)

ERRORS = {
    "scheme": lambda: _("Only https addresses are allowed (plain http only for 127.0.0.1 "
                        "or localhost)."),
    "host": lambda: _("This address's host name cannot be resolved."),
    "private": lambda: _("This address leads to a private, loopback, link-local, multicast "
                         "or reserved network address: refused (WEBHOOK_ALLOW_PRIVATE allows "
                         "it)."),
    "secret": lambda: _("A secret is “whsec_” followed by 24 to 64 bytes in base64. Leave "
                        "the field empty to have one generated."),
    "events": lambda: _("Choose at least one event."),
    "staff-only": lambda: _("Suspected incidents go only to an endpoint marked staff-only."),
    "incomplete": lambda: _("The relay needs an instance address and an access token."),
}
FIELD_OF = {"scheme": "url", "host": "url", "private": "url", "secret": "secret",
            "events": "event_types", "staff-only": "event_types"}


@bp.get("/admin/webhooks")
@role_required("admin")
def webhook_list():
    endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    latest = dict(db.session.execute(
        select(WebhookDelivery.endpoint_id, func.max(WebhookDelivery.attempted_at))
        .group_by(WebhookDelivery.endpoint_id)).all())
    return render_template("travaux/webhooks.html", endpoints=endpoints, latest=latest)


def _endpoint_form(endpoint: WebhookEndpoint | None,
                   fresh: bool = False) -> tuple[EndpointForm, dict]:
    """The form with its choices; `fresh`: filled from the endpoint, not from the request."""
    form = EndpointForm(formdata=None, obj=endpoint) if fresh else EndpointForm(obj=endpoint)
    form.event_types.choices = [(t, EVENT_LABELS.get(t, t)) for t in EVENT_TYPES]
    by_id = {s.id: s for s in services.all_services()}
    form.services.choices = [(s.id, s.name) for s in by_id.values()]
    if endpoint is not None and (fresh or not form.is_submitted()):
        form.services.data = [s.id for s in endpoint.services]
    form.secret.data = form.secret.data if form.is_submitted() and not fresh else ""
    return form, by_id


def _save(form: EndpointForm, endpoint: WebhookEndpoint | None, by_id: dict):
    """Save from the form; (endpoint, generated secret), or None with the error attached."""
    try:
        return webhooks.save_endpoint(
            endpoint, current_user, url=form.url.data, description=form.description.data or "",
            secret=form.secret.data or None, event_types=form.event_types.data or [],
            services=[by_id[i] for i in form.services.data or [] if i in by_id],
            staff_only=form.staff_only.data, enabled=form.enabled.data)
    except webhooks.WebhookError as error:
        field = form[FIELD_OF[str(error)]]
        field.errors = list(field.errors) + [ERRORS[str(error)]()]
        return None


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@role_required("admin")
def new_webhook():
    form, by_id = _endpoint_form(None)
    if form.validate_on_submit() and (saved := _save(form, None, by_id)):
        endpoint, secret = saved
        flash(_("The endpoint is registered."), "success")
        # The page itself shows the secret, once: never in a cookie, never again.
        return _endpoint_page(endpoint, _endpoint_form(endpoint, fresh=True)[0],
                              secret=secret or form.secret.data)
    return render_template("travaux/webhook_form.html", form=form, endpoint=None), (
        422 if form.errors else 200)


def _endpoint_page(endpoint: WebhookEndpoint, form: EndpointForm, secret: str | None = None,
                   status: int = 200):
    return render_template("travaux/webhook_form.html", form=form, endpoint=endpoint,
                           secret=secret, log=webhooks.delivery_log(endpoint),
                           pending=webhooks.pending_count(endpoint),
                           action_form=CsrfForm()), status


@bp.route("/admin/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@role_required("admin")
def edit_webhook(endpoint_id: int):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    form, by_id = _endpoint_form(endpoint)
    if form.validate_on_submit() and (saved := _save(form, endpoint, by_id)):
        flash(_("The endpoint is saved."), "success")
        return _endpoint_page(saved[0], _endpoint_form(endpoint, fresh=True)[0],
                              secret=form.secret.data or None)
    return _endpoint_page(endpoint, form, status=422 if form.errors else 200)


@bp.post("/admin/webhooks/<int:endpoint_id>/test")
@role_required("admin")
def test_webhook(endpoint_id: int):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    webhooks.send_test(endpoint, current_user)
    flash(_("A test event is queued: it appears in the log below once delivered."), "success")
    return redirect(url_for("outbound.edit_webhook", endpoint_id=endpoint.id))


@bp.post("/admin/webhooks/<int:endpoint_id>/delete")
@role_required("admin")
def delete_webhook(endpoint_id: int):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    webhooks.delete_endpoint(endpoint, current_user)
    flash(_("The endpoint is deleted."), "info")
    return redirect(url_for("outbound.webhook_list"))


@bp.route("/admin/relay", methods=["GET", "POST"])
@role_required("admin")
def relay_settings():
    row = relay.settings_row()
    form = RelayForm(obj=row)
    if not form.is_submitted():
        form.access_token.data = ""
    if not relay.from_environment() and form.validate_on_submit():
        try:
            relay.save_settings(current_user, form.instance_url.data or "",
                                form.access_token.data or None, form.enabled.data)
        except relay.RelayError as error:
            field = form.access_token if str(error) == "incomplete" else form.instance_url
            field.errors = list(field.errors) + [ERRORS[str(error)]()]
        else:
            flash(_("The relay is saved."), "success")
            return redirect(url_for("outbound.relay_settings"))
    return render_template("travaux/relay.html", form=form, row=row,
                           from_environment=relay.from_environment(),
                           statuses=relay.recent_statuses()), 422 if form.errors else 200
