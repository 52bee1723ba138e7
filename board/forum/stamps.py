"""What moves the stamps of the forum's pages (board/pagecache.py), and each page's stamp.

A post written, edited, hidden or deleted moves its thread's and its board's `changed_at`; a
thread changed moves its own, its board's (both boards', when moved) and, when it is linked to
an incident, Travaux's generation (its incident's page lists it); a board renamed, moved or
hidden, or a member renamed or given a role, moves the site's generation, shown on every page.
The services set most of these already: this is the net under them, at every flush.
"""

from functools import cache

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from board import pagecache
from board.clock import now
from board.forum.models import Affected, Board, Post, Thread

# A board's own columns that its listing and the index show but every post moves: those move
# the board's `changed_at` only; any other change (name, position, visibility) is the site's.
BOARD_COUNTERS = ("changed_at", "thread_count", "post_count", "last_post_id")


def _touch_thread(session: Session, thread: Thread | None) -> None:
    if thread is not None:
        thread.changed_at = now()
        _touch_board(thread.board)
        if thread.incident_id:
            pagecache.bump(session, pagecache.TRAVAUX)


def _touch_board(board: Board | None) -> None:
    if board is not None:
        board.changed_at = now()


def post_changed(session: Session, post: Post) -> None:
    _touch_thread(session, post.thread or session.get(Thread, post.thread_id))


def affected_changed(session: Session, mark: Affected) -> None:
    _touch_thread(session, session.get(Thread, mark.thread_id))


def thread_changed(session: Session, thread: Thread) -> None:
    """Its own stamp, its board's (both, when it moved) and Travaux's when it is linked."""
    thread.changed_at = now()
    attrs = inspect(thread).attrs
    _touch_board(thread.board)
    for board in attrs.board.history.deleted:
        _touch_board(board)
    for board_id in attrs.board_id.history.deleted:
        _touch_board(session.get(Board, board_id) if board_id else None)
    if thread.incident_id or any(attrs.incident_id.history.deleted):
        pagecache.bump(session, pagecache.TRAVAUX)


def board_changed(session: Session, board: Board) -> None:
    state = inspect(board)
    if state.pending or state.deleted or any(
            attr.history.has_changes() for attr in state.attrs
            if attr.key not in BOARD_COUNTERS):
        pagecache.bump(session, pagecache.SITE)
    if not state.deleted:
        board.changed_at = now()


def register() -> None:
    pagecache.on_change(Post, post_changed)
    pagecache.on_change(Affected, affected_changed)
    pagecache.on_change(Thread, thread_changed)
    pagecache.on_change(Board, board_changed)


# Each page's stamp, in one query (built once: a cache hit costs little more than it) -------

@cache
def _statements() -> dict:
    generations = pagecache.generations(pagecache.SITE, pagecache.TRAVAUX)
    return {
        "site": select(func.max(Board.changed_at), func.count(Board.id), *generations),
        "board": select(Board.id, Board.changed_at, *generations)
        .where(Board.slug == bindparam("slug")),
        "thread": select(Thread.id, Thread.changed_at, *generations)
        .where(Thread.id == bindparam("thread_id")),
    }


def site_stamp(**_view_args) -> tuple:
    """The index and the site feed: every board's latest change, the site and Travaux."""
    return pagecache.read_stamp(_statements()["site"])


def board_stamp(slug: str, **_view_args) -> tuple:
    """A board's pages and feed; abort(404) for no such board."""
    return pagecache.read_stamp(_statements()["board"], slug=slug)


def thread_stamp(thread_id: int, **_view_args) -> tuple:
    """A thread's pages and feed; abort(404) for no such thread."""
    return pagecache.read_stamp(_statements()["thread"], thread_id=thread_id)
