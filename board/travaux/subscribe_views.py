"""Pages of the Travaux mail subscriptions: subscribe (all, services, one incident), confirm,
manage by a mail's link, one-click unsubscribe (RFC 8058)."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from board.extensions import csrf, db, limiter
from board.i18n import select_locale
from board.lists.models import Subscription
from board.travaux import subscribe_forms as forms
from board.travaux import subscriptions
from board.travaux.models import Incident
from board.travaux.services import all_services
from board.travaux.subscriptions import SubscriptionError

bp = Blueprint("travaux_subscriptions", __name__, url_prefix="/travaux")

ERRORS = {
    "invalid": lambda: _("This link is not valid, or has already been used."),
    "expired": lambda: _("This link has expired. Please subscribe again."),
    "closed": lambda: _("This operation is over: there is nothing more to follow."),
    "incident": lambda: _("This subscription follows one operation: it has no services."),
    "inactive": lambda: _("This subscription has ended: subscribe again to receive mail."),
}
SUBSCRIBE_LIMIT = "10 per hour"


def _member():
    return current_user if current_user.is_authenticated else None


def _with_services(form: forms.ServicesForm) -> dict:
    """Fill the services checkboxes; the services by id, for reading the answer."""
    by_id = {s.id: s for s in all_services()}
    form.services.choices = [(s.id, s.name) for s in by_id.values()]
    return by_id


def _incident_asked(incident_id: str | None) -> Incident | None:
    """The incident named by the form (a number), or None."""
    if not incident_id or not incident_id.isdigit() or len(incident_id) > 12:
        return None
    return db.session.get(Incident, int(incident_id))


def _check_mail(email: str, incident: Incident | None = None):
    return render_template("travaux/subscribe_check_mail.html", email=email, incident=incident,
                           days=current_app.config["LIST_CONFIRM_DAYS"])


@bp.route("/subscribe", methods=["GET", "POST"])
@limiter.limit(SUBSCRIBE_LIMIT, methods=["POST"])
def subscribe():
    """All of Travaux or chosen services; `?incident=<id>` (the incident page's form) asks
    for one operation's mail instead."""
    incident = _incident_asked(request.values.get("incident"))
    if incident is not None:
        return _subscribe_incident(incident)
    form = forms.SubscribeForm()
    by_id = _with_services(form)
    if request.method == "GET" and current_user.is_authenticated:
        form.email.data = current_user.email
    if form.validate_on_submit():
        everything = form.scope.data != "services"
        outcome = subscriptions.subscribe(
            form.email.data, [by_id[i] for i in form.services.data if i in by_id], everything,
            select_locale(), user=_member())
        if outcome == "active":
            flash(_("You are subscribed: Travaux mail now reaches %(email)s.",
                    email=form.email.data.strip().lower()), "success")
            return redirect(url_for("travaux.status"))
        return _check_mail(form.email.data)
    return render_template("travaux/subscribe.html", form=form), 422 if form.errors else 200


def _subscribe_incident(incident: Incident):
    form = forms.IncidentSubscribeForm()
    if request.method == "GET":
        form.email.data = current_user.email if current_user.is_authenticated else ""
        form.incident.data = str(incident.id)
    if form.validate_on_submit():
        try:
            outcome = subscriptions.subscribe_incident(form.email.data, incident,
                                                       select_locale(), user=_member())
        except SubscriptionError as error:
            flash(ERRORS[str(error)](), "error")
            return redirect(url_for("travaux.incident", incident_id=incident.id))
        if outcome == "active":
            flash(_("You will receive the news of this operation until it is over."), "success")
            return redirect(url_for("travaux.incident", incident_id=incident.id))
        return _check_mail(form.email.data, incident)
    return render_template("travaux/subscribe_incident.html", form=form, incident=incident), (
        422 if form.errors else 200)


@bp.post("/incidents/<int:incident_id>/subscribe")
@limiter.limit(SUBSCRIBE_LIMIT)
def subscribe_incident(incident_id: int):
    """A member's one click from the incident page: their confirmed address, at once."""
    incident = db.get_or_404(Incident, incident_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    if not current_user.is_authenticated or not current_user.is_confirmed:
        return redirect(url_for(".subscribe", incident=incident.id))
    return _subscribe_incident_as_member(incident)


def _subscribe_incident_as_member(incident: Incident):
    try:
        subscriptions.subscribe_incident(current_user.email, incident, select_locale(),
                                         user=current_user)
    except SubscriptionError as error:
        flash(ERRORS[str(error)](), "error")
    else:
        flash(_("You will receive the news of this operation until it is over."), "success")
    return redirect(url_for("travaux.incident", incident_id=incident.id))


@bp.get("/subscribe/confirm/<secret>")
def confirm(secret: str):
    """A page with a button: link scanners in mailboxes must not subscribe anybody."""
    return render_template("travaux/subscribe_confirm.html", secret=secret,
                           form=forms.ConfirmForm())


@bp.post("/subscribe/confirm/<secret>")
def confirm_post(secret: str):
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        subscription = subscriptions.confirm(secret)
    except SubscriptionError as error:
        flash(ERRORS[str(error)](), "error")
        return redirect(url_for(".subscribe"))
    flash(_("Your subscription is confirmed."), "success")
    return redirect(url_for(".manage", token=subscription.token))


def _subscription(token: str):
    """The subscription behind a mail's link; abort(404) when there is none."""
    found = subscriptions.for_token(token)
    if found is None:
        abort(404)
    return found


@bp.route("/subscriptions/<token>", methods=["GET", "POST"])
def manage(token: str):
    """Reached by the link in every mail: change services (no new confirmation) or leave."""
    subscription = _subscription(token)
    from_list = isinstance(subscription, Subscription)
    form = forms.ServicesForm()
    by_id = _with_services(form)
    if request.method == "GET":
        everything = from_list or subscription.all_services
        form.scope.data = "all" if everything else "services"
        form.services.data = [] if everything else [s.id for s in subscription.services]
    elif form.validate_on_submit():
        try:
            row = subscriptions.change_services(
                subscription, form.scope.data != "services",
                [by_id[i] for i in form.services.data if i in by_id])
        except SubscriptionError as error:
            flash(ERRORS[str(error)](), "error")
        else:
            flash(_("Your choice is saved."), "success")
            return redirect(url_for(".manage", token=row.token))
    return render_template("travaux/subscription_manage.html", subscription=subscription,
                           from_list=from_list, form=form, token=token,
                           unsubscribe_form=forms.ConfirmForm(formdata=None)), (
        422 if form.errors else 200)


@bp.route("/subscriptions/<token>/unsubscribe", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """GET shows a button; POST unsubscribes on the token alone, as RFC 8058's one-click
    POST from a mail provider does (no CSRF token, no login: the token is the secret)."""
    subscription = _subscription(token)
    if request.method == "POST":
        subscriptions.unsubscribe(subscription)
        if request.form.get("List-Unsubscribe") == "One-Click":
            return "", 204
        return render_template("travaux/subscription_ended.html", subscription=subscription)
    return render_template("travaux/subscription_unsubscribe.html", subscription=subscription,
                           from_list=isinstance(subscription, Subscription), token=token)
