"""Marking the reply that solved a help thread, and taking the mark back
(board/forum/solutions.py)."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from board.extensions import limiter
from board.formfields import CsrfForm
from board.forum import solutions
from board.forum.views import get_post, get_thread
from board.permissions import login_required

bp = Blueprint("solutions", __name__)


@bp.post("/posts/<int:post_id>/solution")
@login_required
@limiter.limit("30 per hour")
def mark(post_id: int):
    """The thread's author or staff say this reply solved the problem. abort(403) for
    anyone else, or outside a help board."""
    post = get_post(post_id)
    thread = post.thread
    if not solutions.can_mark_solution(current_user, thread):
        abort(403)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        solutions.mark_solution(thread, post, current_user)
    except solutions.SolutionError:
        flash(_("Only a visible reply of the thread can be its solution."), "error")
        return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
    flash(_("This reply is marked as the solution: the thread shows as solved."), "success")
    return redirect(url_for("forum.post", post_id=post.id))


@bp.post("/threads/<int:thread_id>/solution/clear")
@login_required
@limiter.limit("30 per hour")
def clear(thread_id: int):
    """The thread is no longer solved. abort(403) as for marking."""
    thread = get_thread(thread_id)
    if not solutions.can_mark_solution(current_user, thread):
        abort(403)
    if not CsrfForm().validate_on_submit():
        abort(400)
    solutions.clear_solution(thread, current_user)
    flash(_("The thread no longer has a solution."), "success")
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
