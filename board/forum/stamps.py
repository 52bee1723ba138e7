"""What moves the stamps of the forum's pages (board/pagecache.py), and each page's stamp.

A post written, edited, hidden or deleted, or a "me too", moves its thread's `changed_at`; a
thread changed moves its own and, when it is linked to an incident, Travaux's generation (its
incident's page lists it); a board's stamp is its own `changed_at` (which the services move
with its counters) and its threads' latest; a board renamed, moved or hidden, or a member
renamed or given a role, moves the site's generation, shown on every page. The services set
most of these already: this is the net under them, at every flush.
"""

from functools import cache

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import InstanceState, Session

from board import pagecache
from board.clock import now
from board.forum.models import Affected, Board, Post, Thread

# A board's own columns that its listing and the index show but every post moves: those move
# the board's `changed_at` only; any other change (name, position, visibility) is the site's.
BOARD_COUNTERS = ("changed_at", "thread_count", "post_count", "last_post_id")


def _touch_thread(session: Session, thread: Thread | None) -> None:
    if thread is not None:
        thread.changed_at = now()
        if thread.incident_id:
            pagecache.bump(session, pagecache.TRAVAUX)


def post_changed(session: Session, post: Post) -> None:
    _touch_thread(session, post.thread or session.get(Thread, post.thread_id))


def affected_changed(session: Session, mark: Affected) -> None:
    _touch_thread(session, session.get(Thread, mark.thread_id))


def thread_changed(session: Session, thread: Thread) -> None:
    """Its own stamp, and Travaux's when it is (or was) linked to an incident. Boards are
    not written here: a board's stamp reads its threads' latest change, and the services
    lock a board after its threads (board/forum/services.py), an order a flush would break."""
    thread.changed_at = now()
    if thread.incident_id or any(inspect(thread).attrs.incident_id.history.deleted):
        pagecache.bump(session, pagecache.TRAVAUX)


def board_changed(session: Session, board: Board) -> None:
    state: InstanceState = inspect(board)
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
        # The board's own change (its counters, its name) and its threads' latest one (a
        # lock, a "me too": what its listing shows), by the (board_id, changed_at) index.
        "board": select(Board.id, Board.changed_at, select(func.max(Thread.changed_at))
                        .where(Thread.board_id == Board.id).scalar_subquery(), *generations)
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
