"""Pages of the mailing lists: subscribe, confirm, unsubscribe, archive, moderation."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from board import feeds
from board.extensions import csrf, db, limiter
from board.i18n import select_locale
from board.lists import forms, services
from board.lists.models import HELD, ListMessage, MailingList
from board.lists.services import ListError
from board.permissions import role_required
from board.urls import absolute
from board.visibility import GUEST, visible_list_messages

bp = Blueprint("lists", __name__, url_prefix="/lists")

ERRORS = {
    "invalid": lambda: _("This link is not valid, or has already been used."),
    "expired": lambda: _("This link has expired. Please subscribe again."),
    "decided": lambda: _("This message has already been decided on."),
}


def get_list(slug: str) -> MailingList:
    """The list named `slug`; abort(404) when there is none."""
    mailing_list = services.get_list(slug)
    if mailing_list is None:
        abort(404)
    return mailing_list


def _subscribe_form() -> forms.SubscribeForm:
    form = forms.SubscribeForm()
    form.lists.choices = [(m.slug, m.name) for m in services.all_lists()]
    return form


@bp.route("/", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def index():
    form = _subscribe_form()
    if request.method == "GET" and current_user.is_authenticated:
        form.email.data = current_user.email
    if form.validate_on_submit():
        chosen = [m for m in services.all_lists() if m.slug in form.lists.data]
        services.subscribe(form.email.data, chosen, select_locale(),
                           user=current_user if current_user.is_authenticated else None)
        return render_template("lists/check_mail.html", email=form.email.data, lists=chosen,
                               days=current_app.config["LIST_CONFIRM_DAYS"])
    return render_template("lists/index.html", form=form, lists=services.all_lists(),
                           address=services.posting_address), 422 if form.errors else 200


@bp.get("/confirm/<secret>")
def confirm(secret: str):
    """A page with a button: link scanners in mailboxes must not subscribe anybody."""
    return render_template("lists/confirm.html", secret=secret, form=forms.ConfirmForm())


@bp.post("/confirm/<secret>")
def confirm_post(secret: str):
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        subscription = services.confirm(secret)
    except ListError as error:
        flash(ERRORS[str(error)](), "error")
        return redirect(url_for("lists.index"))
    flash(_("You are subscribed to the list %(name)s.", name=subscription.list.name), "success")
    return redirect(url_for("lists.index"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """GET shows a button; POST unsubscribes on the token alone, as RFC 8058's one-click
    POST from a mail provider does (no CSRF token, no login: the token is the secret)."""
    subscription = services.subscription_for_token(token)
    if subscription is None:
        abort(404)
    if request.method == "POST":
        services.unsubscribe(subscription)
        if request.form.get("List-Unsubscribe") == "One-Click":
            return "", 204
        return render_template("lists/unsubscribed.html", subscription=subscription)
    return render_template("lists/unsubscribe.html", subscription=subscription)


@bp.get("/<slug>/")
def archive(slug: str):
    mailing_list = get_list(slug)
    page = db.paginate(visible_list_messages(
        select(ListMessage).where(ListMessage.list_id == mailing_list.id)
        .order_by(ListMessage.sent_at.desc(), ListMessage.id.desc()), current_user), per_page=20)
    return render_template("lists/archive.html", mailing_list=mailing_list, page=page)


@bp.get("/<slug>/<int:message_id>")
def message(slug: str, message_id: int):
    mailing_list = get_list(slug)
    message = db.first_or_404(visible_list_messages(select(ListMessage).where(
        ListMessage.id == message_id, ListMessage.list_id == mailing_list.id), current_user))
    return render_template("lists/message.html", mailing_list=mailing_list, message=message)


@bp.get("/<slug>/feed.<any(rss,atom):fmt>")
def archive_feed(slug: str, fmt: str):
    mailing_list = get_list(slug)
    stamp = feeds.Stamp(*db.session.execute(visible_list_messages(
        select(func.max(ListMessage.sent_at), func.count(ListMessage.id))
        .where(ListMessage.list_id == mailing_list.id), GUEST)).one())
    if (cached := feeds.not_modified(stamp, fmt)) is not None:
        return cached
    messages = db.session.scalars(visible_list_messages(
        select(ListMessage).where(ListMessage.list_id == mailing_list.id)
        .order_by(ListMessage.sent_at.desc(), ListMessage.id.desc()).limit(feeds.MAX_ITEMS),
        GUEST)).all()
    language = feeds.language()
    with force_locale(language):
        items = [feeds.Item(
            key=f"list-message-{m.id}", title=m.subject,
            link=absolute(url_for("lists.message", slug=slug, message_id=m.id)),
            published=m.sent_at, updated=m.sent_at, html=feeds.absolute_html(m.body_html),
            author=m.author_name if m.origin != "mail" else mailing_list.name,
            categories=[(slug, mailing_list.name)]) for m in messages]
        return feeds.respond(
            fmt, stamp, title=_("List %(name)s", name=mailing_list.name),
            subtitle=mailing_list.description, language=language, items=items,
            page_url=absolute(url_for("lists.archive", slug=slug)))


@bp.route("/<slug>/compose", methods=["GET", "POST"])
@role_required("admin")
def compose(slug: str):
    mailing_list = get_list(slug)
    form = forms.ComposeForm()
    if form.validate_on_submit():
        services.compose(mailing_list, current_user, form.subject.data, form.body.data)
        flash(_("The message waits for approval."), "success")
        return redirect(url_for("lists.held"))
    return render_template("lists/compose.html", mailing_list=mailing_list, form=form), (
        422 if form.errors else 200)


@bp.get("/held")
@role_required("admin")
def held():
    messages = db.session.scalars(select(ListMessage).where(ListMessage.status == HELD)
                                  .order_by(ListMessage.created_at)).all()
    recent = db.session.scalars(select(ListMessage).where(ListMessage.status != HELD)
                                .order_by(ListMessage.id.desc()).limit(20)).all()
    return render_template("lists/held.html", messages=messages, recent=recent,
                           reject_form=forms.RejectForm(formdata=None))


def _held_message(message_id: int) -> ListMessage:
    return db.get_or_404(ListMessage, message_id)


@bp.post("/held/<int:message_id>/approve")
@role_required("admin")
def approve(message_id: int):
    message = _held_message(message_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.approve(message, current_user)
    except ListError as error:
        flash(ERRORS[str(error)](), "error")
    else:
        flash(_("Approved: the message is on its way to the subscribers."), "success")
    return redirect(url_for("lists.held"))


@bp.post("/held/<int:message_id>/reject")
@role_required("admin")
def reject(message_id: int):
    message = _held_message(message_id)
    form = forms.RejectForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason."), "error")
        return redirect(url_for("lists.held"))
    try:
        services.reject(message, current_user, form.reason.data)
    except ListError as error:
        flash(ERRORS[str(error)](), "error")
    else:
        flash(_("Rejected: the author is told why."), "success")
    return redirect(url_for("lists.held"))


@bp.route("/<slug>/settings", methods=["GET", "POST"])
@role_required("admin")
def settings(slug: str):
    mailing_list = get_list(slug)
    form = forms.SettingsForm()
    if request.method == "GET":
        form.description.data = mailing_list.description
        form.senders.data = "\n".join(s.email for s in mailing_list.senders)
    if form.validate_on_submit():
        lines = [line.strip() for line in (form.senders.data or "").splitlines() if line.strip()]
        addresses = [services.plain_address(line) for line in lines]
        if None in addresses:
            bad = lines[addresses.index(None)]
            form.senders.errors.append(_("Not an email address: %(address)s", address=bad))
        else:
            # A form sent without the field (not by our page) leaves it None.
            services.update_settings(mailing_list, current_user, form.description.data or "",
                                     addresses)
            flash(_("The list is saved."), "success")
            return redirect(url_for("lists.index"))
    return render_template("lists/settings.html", mailing_list=mailing_list, form=form,
                           address=services.posting_address(mailing_list)), (
        422 if form.errors else 200)
