"""What a viewer may see: the one place that decides it.

For each kind of content there is a query filter (`visible_threads(stmt, viewer)`, which
narrows a SELECT) and the matching predicate (`can_see_thread(viewer, thread)`, for a row
already loaded); a parametrized test proves they agree for every kind and every viewer.
Pages, feeds, the API, the export, mail and templates all ask here, and nowhere else tests
`hidden_at` or a board's visibility to decide what to show.

The rule: staff (moderators and admins) see everything. Everybody else sees public boards,
the threads of public boards that moderation has not hidden, and the posts of those threads
that moderation has not hidden; an author does not see their own hidden post (hiding is how a
member deletes one). List messages are seen once sent, by everyone.

`GUEST` is the one anonymous viewer: feeds, the static export and mail to the public are built
as it sees the site, and Flask-Login hands it to every visitor who is not logged in.
"""

from flask import current_app
from flask_login import AnonymousUserMixin
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from board.extensions import db
from board.forum.models import PUBLIC, STAFF, Board, Post, Thread
from board.lists.models import SENT, ListMessage
from board.permissions import is_staff

GUEST = AnonymousUserMixin()


def shown(model):
    """The SQL condition "moderation has not hidden this row" (threads, posts). Counters
    count what is shown."""
    return model.hidden_at.is_(None)


def _is_shown(row) -> bool:
    return row.hidden_at is None


# Boards -----------------------------------------------------------------------------------

def visible_boards(stmt, viewer):
    """Restrict a statement over Board to the boards `viewer` may see."""
    if is_staff(viewer):
        return stmt
    return stmt.where(Board.visibility == PUBLIC)


def can_see_board(viewer, board: Board) -> bool:
    return is_staff(viewer) or board.visibility == PUBLIC


# Threads ----------------------------------------------------------------------------------

def visible_threads(stmt, viewer):
    """Restrict a statement over Thread (joined to its Board here) to what `viewer` may see."""
    stmt = stmt.join(Thread.board)
    if is_staff(viewer):
        return stmt
    return stmt.where(Board.visibility == PUBLIC, shown(Thread))


def can_see_thread(viewer, thread: Thread) -> bool:
    return is_staff(viewer) or (can_see_board(viewer, thread.board) and _is_shown(thread))


def listed_thread_count(viewer, board: Board) -> int:
    """How many threads of `board` (which `viewer` may see) its pages list for `viewer`,
    without counting them: the board's counter is what a guest sees (its shown threads);
    staff also see the hidden ones, counted on their small partial index."""
    if not is_staff(viewer):
        return board.thread_count
    hidden = db.session.scalar(select(func.count(Thread.id)).where(
        Thread.board_id == board.id, Thread.hidden_at.is_not(None)))
    return board.thread_count + (hidden or 0)


# Posts ------------------------------------------------------------------------------------

# Built once: SQLAlchemy adapts every column of a new alias again (a sixth of a thread page).
_THREAD, _BOARD = aliased(Thread), aliased(Board)
_THREAD_VISIBLE = exists(
    select(_THREAD.id).join(_BOARD, _BOARD.id == _THREAD.board_id)
    .where(_THREAD.id == Post.thread_id, _BOARD.visibility == PUBLIC, _THREAD.hidden_at.is_(None)))


def visible_posts(stmt, viewer):
    """Restrict a statement over Post to the posts `viewer` may see, their thread included."""
    if is_staff(viewer):
        return stmt
    return stmt.where(shown(Post), _THREAD_VISIBLE)


def can_see_post(viewer, post: Post) -> bool:
    return is_staff(viewer) or (_is_shown(post) and can_see_thread(viewer, post.thread))


# Revisions of a post ----------------------------------------------------------------------

def can_see_revisions(viewer, post: Post) -> bool:
    """Whether `viewer` may read the earlier versions of `post`: its author and staff, while
    they see the post; everyone who sees it when REVISIONS_PUBLIC is set."""
    if not can_see_post(viewer, post):
        return False
    return (current_app.config["REVISIONS_PUBLIC"] or is_staff(viewer)
            or (viewer.is_authenticated and viewer.id == post.author_id))


# List messages ----------------------------------------------------------------------------

def visible_list_messages(stmt, viewer):
    """Restrict a statement over ListMessage to the archive: messages sent to the list.
    Held and rejected ones are only on the moderation pages, which are for admins."""
    return stmt.where(ListMessage.status == SENT)


def can_see_list_message(viewer, message: ListMessage) -> bool:
    return message.status == SENT


# The community's marks of a day (uptime) -------------------------------------------------

def visible_day_marks(stmt, viewer, model):
    """Restrict a statement over a day's community marks (Travaux's CommunityDay, given as
    `model`: this module imports no Travaux) to the days staff did not hide; staff see all."""
    return stmt if is_staff(viewer) else stmt.where(shown(model))


def can_see_day_marks(viewer, marks) -> bool:
    return is_staff(viewer) or _is_shown(marks)


# For templates ----------------------------------------------------------------------------

def guest_restriction(item) -> str | None:
    """Why a guest cannot see `item` (a board, thread or post), for the badges staff see:
    "staff" (a staff-only board), "hidden" (hidden by moderation), or None."""
    if isinstance(item, Board):
        return None if can_see_board(GUEST, item) else STAFF
    if isinstance(item, Post) and not _is_shown(item):
        return "hidden"
    if isinstance(item, Thread) and not _is_shown(item):
        return "hidden"
    if isinstance(item, Thread) and not can_see_board(GUEST, item.board):
        return STAFF
    return None


def for_guests(item) -> bool:
    """Whether a guest may see `item` (a board or thread): its feed links are shown then."""
    if isinstance(item, Board):
        return can_see_board(GUEST, item)
    return can_see_thread(GUEST, item)


def init_app(app) -> None:
    """Give templates the questions they may ask, and make GUEST every visitor not logged in."""
    from board.extensions import login_manager

    login_manager.anonymous_user = lambda: GUEST
    app.jinja_env.globals.update(guest_restriction=guest_restriction, for_guests=for_guests,
                                 can_see_post=can_see_post, can_see_thread=can_see_thread)
