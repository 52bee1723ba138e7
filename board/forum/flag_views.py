"""Flagging a post, and the moderation queue where staff decide on flagged posts."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from board.audit import AuditLog
from board.extensions import db, limiter
from board.forum import flags
from board.forum.flag_forms import FlagForm, WarnForm
from board.forum.flags import REASONS, Flag, FlagError
from board.forum.forms import ActionForm
from board.forum.models import Post
from board.forum.views import get_post
from board.permissions import confirmed_required, is_staff, role_required
from board.visibility import visible_posts

bp = Blueprint("moderation", __name__)

QUEUE_PAGE = 20

FLAG_ERRORS = {
    "own": lambda: _("You cannot flag your own message."),
    "again": lambda: _("You have already flagged this message: our team will look at it."),
    "reason": lambda: _("Please choose a reason."),
    "note": lambda: _("Please say in a few words what is wrong."),
}


@bp.route("/posts/<int:post_id>/flag", methods=["GET", "POST"])
@confirmed_required
# Flags that were taken count (a refused one changes nothing).
@limiter.limit("10 per hour; 3 per minute", methods=["POST"],
               exempt_when=lambda: is_staff(current_user),
               deduct_when=lambda response: response.status_code == 302)
def flag(post_id: int):
    """Flag a post the member may see (abort(404) otherwise) for staff."""
    post = get_post(post_id)
    form = FlagForm()
    error = FLAG_ERRORS["own"]() if post.author_id == current_user.id else None
    if error is None and form.validate_on_submit():
        try:
            flags.flag_post(post, current_user, form.reason.data, form.note.data)
        except FlagError as refused:
            error = FLAG_ERRORS[str(refused)]()
        else:
            flash(_("Thank you: the message is flagged, our team will look at it."),
                  "success")
            return redirect(url_for("forum.post", post_id=post_id))
    status = 422 if (error or form.errors) and request.method == "POST" else 200
    return render_template("forum/flag.html", post=post, form=form, error=error), status


@bp.get("/moderation/queue")
@role_required("moderator")
def queue():
    """Flagged posts waiting for a decision, the most recently flagged first."""
    ids = (select(Flag.post_id).where(Flag.resolved_at.is_(None)).group_by(Flag.post_id)
           .order_by(func.max(Flag.created_at).desc(), Flag.post_id.desc()))
    page = db.paginate(ids, per_page=QUEUE_PAGE, max_per_page=100)
    wanted = list(page.items)
    posts = {p.id: p for p in db.session.scalars(visible_posts(
        select(Post).where(Post.id.in_(wanted))
        .options(joinedload(Post.thread), joinedload(Post.author)), current_user))}
    open_flags = db.session.scalars(
        select(Flag).where(Flag.post_id.in_(wanted), Flag.resolved_at.is_(None))
        .options(joinedload(Flag.user)).order_by(Flag.created_at.desc())).all()
    warned = dict(db.session.execute(
        select(AuditLog.target_id, func.max(AuditLog.created_at))
        .where(AuditLog.action == "flag.warn", AuditLog.target_type == "post",
               AuditLog.target_id.in_(wanted)).group_by(AuditLog.target_id)).all())
    items = [_item(posts[post_id], [f for f in open_flags if f.post_id == post_id],
                   warned.get(post_id)) for post_id in wanted if post_id in posts]
    return render_template("forum/moderation_queue.html", page=page, items=items,
                           action_form=ActionForm(), warn_form=WarnForm(formdata=None,
                           message=_("Hello, members flagged one of your messages as "
                                     "breaking our rules. Please read them again and edit "
                                     "the message.")))


def _item(post: Post, open_flags: list[Flag], warned_at) -> dict:
    counts = {reason: 0 for reason in REASONS}
    for one in open_flags:
        counts[one.reason] = counts.get(one.reason, 0) + 1
    return {"post": post, "flags": open_flags, "warned_at": warned_at,
            "reasons": [(REASONS[r], n) for r, n in counts.items() if n],
            "by_flags": flags.hidden_by_flags(post)}


DECISIONS = {
    "hide": (flags.hide_flagged, lambda: _("The message is hidden and its flags closed.")),
    "keep": (flags.keep_flagged,
             lambda: _("The message is kept: its flags are dismissed.")),
}


@bp.post("/moderation/queue/<int:post_id>/<any(hide,keep):decision>")
@role_required("moderator")
def decide(post_id: int, decision: str):
    post = get_post(post_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    operation, message = DECISIONS[decision]
    operation(post, current_user)
    flash(message(), "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/moderation/queue/<int:post_id>/warn")
@role_required("moderator")
def warn(post_id: int):
    post = get_post(post_id)
    form = WarnForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(" ".join(str(e) for e in form.message.errors), "error")
        return redirect(url_for("moderation.queue"))
    flags.warn_author(post, current_user, form.message.data)
    flash(_("The author is warned by mail."), "success")
    return redirect(url_for("moderation.queue"))


def init_app(app) -> None:
    """The flag page, the queue, and the staff bar's count of posts waiting in it."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(flags_waiting=flags.waiting_count,
                                 hidden_by_flags=flags.hidden_by_flags,
                                 reason_label=lambda code: REASONS.get(code, code))
