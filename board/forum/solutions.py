"""Solved threads: in a help board (`Board.solvable`), the thread's author or staff mark the
reply that solved the problem. The thread then says so under its first post, in listings,
search and feeds; the reply's author is told (a notification). Staff's marks go to the audit
log. Not to be confused with `Thread.resolved_at`: a linked incident's resolution.
"""

from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum.models import Post, Thread
from board.forum.notifications import notify
from board.permissions import has_role, is_staff
from board.visibility import can_see_post, guest_restriction


class SolutionError(ValueError):
    """A post that cannot be the thread's solution."""


def can_mark_solution(user, thread: Thread) -> bool:
    """Whether `user` may mark (or unmark) the solution of `thread`: its author or staff, on a
    help board. No query: templates ask it once per page."""
    if not thread.board.solvable or not user.is_authenticated:
        return False
    return is_staff(user) or (has_role(user, "member") and user.id == thread.author_id
                              and user.is_confirmed)


def mark_solution(thread: Thread, post: Post, actor) -> None:
    """Make `post`, a reply of `thread` that `actor` sees, its solution (replacing any other);
    its author is told, and the thread's author when someone else marked it. Commits."""
    if post.thread_id != thread.id or post.id == thread.first_post_id \
            or not can_see_post(actor, post) or guest_restriction(post) == "hidden":
        raise SolutionError("not-a-reply")
    if thread.solution_post_id == post.id:
        return
    thread.solution_post_id = post.id
    _touch(thread)
    if is_staff(actor):
        record(actor, "thread.solve", "thread", thread.id, post=post.id)
    notify(post.author, "solved", actor=actor, post=post)
    notify(thread.author, "solved", actor=actor, post=post)  # when staff solved their report
    db.session.commit()


def clear_solution(thread: Thread, actor) -> None:
    """The thread has no solution any more. Commits."""
    if thread.solution_post_id is None:
        return
    if is_staff(actor):
        record(actor, "thread.unsolve", "thread", thread.id, post=thread.solution_post_id)
    thread.solution_post_id = None
    _touch(thread)
    db.session.commit()


def _touch(thread: Thread) -> None:
    # The thread's page and feed, and its board's listing and feed, show it.
    thread.changed_at = thread.board.changed_at = now()
