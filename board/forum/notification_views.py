"""Pages of notifications: the list behind the bell, its read marks, the preferences on the
account page, and the names offered while typing a mention."""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import case, or_, select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from board.accounts.models import User
from board.extensions import db, limiter
from board.formfields import CsrfForm
from board.forum import notifications
from board.forum.members import profile_path
from board.forum.models import Post
from board.permissions import login_required
from board.visibility import visible_posts

bp = Blueprint("notifications", __name__)

PER_PAGE = 30
SUGGESTIONS = 8


class PreferencesForm(FlaskForm):
    """One choice (site, mail, both, none) per kind: a field named after each kind."""


for _kind in notifications.KINDS:
    setattr(PreferencesForm, _kind, SelectField(
        notifications.KIND_LABELS[_kind],
        choices=[SelectChoice(value, label)
                 for value, label in notifications.DELIVERY_LABELS.items()]))


@bp.get("/notifications")
@login_required
def index():
    """The member's notifications, newest first, about what they may still see."""
    page = db.paginate(notifications.listed(current_user), per_page=PER_PAGE, max_per_page=100)
    return render_template("forum/notifications.html", page=page, form=CsrfForm(),
                           describe=notifications.describe, link=notifications.link)


@bp.post("/notifications/read")
@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int | None = None):
    if not CsrfForm().validate_on_submit():
        abort(400)
    notifications.mark_read(current_user, notification_id)
    if notification_id is None:
        flash(_("All your notifications are marked read."), "success")
    return redirect(url_for("notifications.index", page=request.args.get("page", type=int)))


@bp.post("/account/notifications")
@login_required
def save_preferences():
    form = PreferencesForm()
    if not form.validate_on_submit():
        abort(400)  # no CSRF token, or a choice that is not offered
    notifications.save_preferences(
        current_user, {kind: form[kind].data for kind in notifications.KINDS})
    flash(_("Your notification preferences are saved."), "success")
    return redirect(url_for("accounts.account", _anchor="notifications"))


def account_section() -> Markup:
    """The account page's "Notifications" card (app.extensions["account_sections"])."""
    form = PreferencesForm(formdata=None, data=notifications.preferences(current_user))
    return Markup(render_template("forum/_notification_settings.html", form=form))


@bp.get("/mentions/suggest")
@login_required
@limiter.limit("60 per minute")
def suggest():
    """Display names that start with `q` (or one of whose words does), two letters at least,
    as JSON: only members who wrote something the reader may see, never an address; those who
    wrote in `thread` (an id) first."""
    typed = request.args.get("q", "").strip()
    if not 2 <= len(typed) <= 40:
        return jsonify([])
    pattern = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    seen_writing = visible_posts(select(Post.id).where(Post.author_id == User.id),
                                 current_user).exists()
    thread_id = request.args.get("thread", type=int)
    if thread_id is not None and not 0 < thread_id < 2**31:
        thread_id = None  # no such thread: PostgreSQL's integers end there
    in_thread = visible_posts(select(Post.id).where(
        Post.author_id == User.id, Post.thread_id == (thread_id or 0)), current_user).exists()
    users = db.session.scalars(
        select(User).where(User.disabled_at.is_(None), seen_writing,
                           or_(User.name.ilike(f"{pattern}%", escape="\\"),
                               User.name.ilike(f"% {pattern}%", escape="\\")))
        .order_by(case((in_thread, 0), else_=1), User.name).limit(SUGGESTIONS)).all()
    return jsonify([{"name": user.name, "url": profile_path(user)} for user in users])


def init_app(app) -> None:
    """The pages, and the account page's card."""
    app.register_blueprint(bp)
    app.extensions.setdefault("account_sections", []).append(account_section)
