"""Unread tracking's pages: jump to a thread's first unread post, and "mark all read" of a
board or of the whole forum (board/forum/reading.py keeps the marks)."""

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from board.extensions import limiter
from board.formfields import CsrfForm
from board.forum import reading, services
from board.forum.views import get_board, get_thread
from board.permissions import login_required

bp = Blueprint("reading", __name__)


@bp.get("/threads/<int:thread_id>/unread")
def first_unread(thread_id: int):
    """The page of the thread where the member's first unread post is, scrolled to it (the
    thread's last page when everything is read); guests get the thread's first page."""
    thread = get_thread(thread_id)
    post = reading.first_unread(current_user, thread) if current_user.is_authenticated \
        else None
    if post is None:
        if not current_user.is_authenticated or thread.last_post_id is None:
            return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
        return redirect(url_for("forum.post", post_id=thread.last_post_id))
    page = services.page_of(post, current_user, current_app.config["POSTS_PER_PAGE"])
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug,
                            page=page if page > 1 else None, _anchor=f"post-{post.id}"))


@bp.post("/boards/<slug>/read")
@login_required
@limiter.limit("60 per hour")
def mark_board_read(slug: str):
    board = get_board(slug)
    if not CsrfForm().validate_on_submit():
        abort(400)
    reading.mark_all_read(current_user, board)
    flash(_("Every thread of %(board)s is marked as read.", board=board.name), "success")
    return redirect(url_for("forum.board", slug=board.slug))


@bp.post("/read")
@login_required
@limiter.limit("60 per hour")
def mark_all_read():
    if not CsrfForm().validate_on_submit():
        abort(400)
    reading.mark_all_read(current_user)
    flash(_("Every thread is marked as read."), "success")
    return redirect(url_for("forum.index"))
