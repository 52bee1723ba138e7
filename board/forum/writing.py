"""Pages that help write a post and read its past: the preview, drafts, and the revisions of
an edited post.

The preview renders through board/markup.py as a published post is rendered, and stores
nothing. With JavaScript (static/drafts.js) the forms ask `/preview` and `/drafts/...` as one
types; without it, "Preview" posts the form to a page that shows it again with the preview,
and "Delete the draft" to one that sends back to the form.
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from board.extensions import limiter
from board.forum import drafts, forms, revisions
from board.forum.mentions import rendered
from board.forum.views import get_board, get_post, get_thread, service_choices
from board.i18n import local_format
from board.permissions import confirmed_required
from board.visibility import can_see_revisions

bp = Blueprint("writing", __name__)

# What one types is previewed and saved again and again: generous, but not a free renderer.
PREVIEW_LIMIT = "30 per minute; 600 per hour"
DRAFT_LIMIT = "60 per minute; 1200 per hour"


class TextForm(FlaskForm):
    """What the preview and a draft receive: a post's text (and a new thread's title), as
    long as a post may be."""

    title = StringField(validators=[Length(max=forms.TITLE_MAX)])
    body = TextAreaField(validators=[Length(max=forms.BODY_MAX, message=_l(
        "Your message is too long: %(max)d characters at most.", max=forms.BODY_MAX))])


def _text_form() -> tuple[TextForm, str | None]:
    """The posted text, and what is wrong with it (too long) if anything; abort(400) without
    a valid CSRF token."""
    form = TextForm()
    if form.validate_on_submit():
        return form, None
    if form.csrf_token.errors or not form.errors:
        abort(400)
    return form, (form.body.errors or [_("Your title is too long.")])[0]


def _previewed(form) -> str | None:
    """The form's text rendered, or None when too long (then its field says so). Whatever
    else a form lacks (a title, a message) is for publishing to say, not the preview."""
    too_long = len(form.body.data or "") > forms.BODY_MAX
    for field in form:
        field.errors = []
    if too_long:
        form.body.errors = [_("Your message is too long: %(max)d characters at most.",
                              max=forms.BODY_MAX)]
        return None
    return rendered(form.body.data or "")


# Preview ----------------------------------------------------------------------------------

@bp.post("/preview")
@confirmed_required
@limiter.limit(PREVIEW_LIMIT)
def preview():
    """The HTML of `body` as it would be published, for the page's preview pane (422 and a
    message when it is too long)."""
    form, error = _text_form()
    if error:
        return render_template("forum/_preview.html", error=error), 422
    return render_template("forum/_preview.html", preview=rendered(form.body.data or ""))


@bp.post("/threads/<int:thread_id>/reply/preview")
@confirmed_required
@limiter.limit(PREVIEW_LIMIT)
def reply_preview(thread_id: int):
    """Without JavaScript: the reply form again, with its text and the preview."""
    thread = get_thread(thread_id)
    form = forms.ReplyForm()
    if not form.validate_on_submit() and form.csrf_token.errors:
        abort(400)
    preview = _previewed(form)
    return render_template("forum/reply.html", thread=thread, form=form, preview=preview), (
        200 if preview is not None else 422)


@bp.post("/boards/<slug>/new/preview")
@confirmed_required
@limiter.limit(PREVIEW_LIMIT)
def thread_preview(slug: str):
    """Without JavaScript: the new-thread form again, with its text and the preview."""
    board = get_board(slug)
    form = forms.ThreadForm()
    has_services = service_choices(form.service)
    if not form.validate_on_submit() and form.csrf_token.errors:
        abort(400)
    preview = _previewed(form)
    checked = bool(request.form.get("checked")) or not current_app.extensions.get(
        "similar_reports")
    return render_template("forum/new_thread.html", board=board, form=form, checked=checked,
                           has_services=has_services, preview=preview), (
        200 if preview is not None else 422)


# Drafts -----------------------------------------------------------------------------------

def _saved(draft) -> dict:
    if draft is None:
        return {"saved": False, "status": _("No draft kept.")}
    return {"saved": True, "status": _("Draft saved at %(time)s",
                                       time=local_format(draft.saved_at, "HH:mm"))}


def _draft_place(thread_id: int | None, slug: str | None) -> dict:
    """Where the draft belongs: the thread replied to, or the board of a new thread, if the
    current user may see it; abort(404) otherwise."""
    if thread_id is not None:
        return {"thread": get_thread(thread_id)}
    return {"board": get_board(slug or "")}


@bp.post("/drafts/threads/<int:thread_id>")
@bp.post("/drafts/boards/<slug>")
@confirmed_required
@limiter.limit(DRAFT_LIMIT)
def save_draft(thread_id: int | None = None, slug: str | None = None):
    """Keep the reply, or the new thread (title and message), being written. JSON: whether a
    draft is kept, and the status to show."""
    place = _draft_place(thread_id, slug)
    form, error = _text_form()
    if error:
        return jsonify({"saved": False, "status": error}), 413
    title = (form.title.data or "").strip() if "board" in place else ""
    return jsonify(_saved(drafts.save_draft(current_user, form.body.data or "", title, **place)))


@bp.post("/drafts/threads/<int:thread_id>/delete")
@bp.post("/drafts/boards/<slug>/delete")
@confirmed_required
@limiter.limit(DRAFT_LIMIT)
def delete_draft(thread_id: int | None = None, slug: str | None = None):
    """Delete the draft: JSON for the page's script, else back to the emptied form."""
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    place = _draft_place(thread_id, slug)
    drafts.save_draft(current_user, "", **place)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(_saved(None))
    flash(_("The draft is deleted."), "success")
    if "thread" in place:
        thread = place["thread"]
        return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug,
                                _anchor="reply-title"))
    return redirect(url_for("forum.new_thread", slug=place["board"].slug))


# Revisions --------------------------------------------------------------------------------

@bp.get("/posts/<int:post_id>/revisions")
def post_revisions(post_id: int):
    """The versions of an edited post, newest first, each with what changed. abort(404) when
    the viewer may not see the post, 403 when they see it but not its history."""
    post = get_post(post_id)
    if not can_see_revisions(current_user, post):
        abort(403)
    versions, complete = revisions.history(post)
    return render_template("forum/revisions.html", post=post, versions=versions,
                           complete=complete)


def init_app(app) -> None:
    """The preview, drafts and revisions pages; templates ask `can_see_revisions(viewer,
    post)` before they link to a post's history."""
    app.register_blueprint(bp)
    app.jinja_env.globals["can_see_revisions"] = can_see_revisions
    app.jinja_env.globals["draft_status"] = lambda draft: _saved(draft)["status"]
