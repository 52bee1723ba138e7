"""A board's threads, page by page, at the cost of one page whatever the board holds.

The listing's order is (pinned, last activity, id), newest first, and ix_threads_listing
holds it. Pages are read by key (keyset pagination): "next" asks for the threads after the
last one shown (`?after=<key>`), "previous" for those before the first one (`?before=<key>`),
each one index range, however deep. The page number travels along (`&page=N`) as a label.
A page number alone (`/boards/x?page=N`, the links of the numbered pages and every old link)
picks the N-th slice from whichever end of the order is nearer: its thread ids first, read on
the index alone, then those rows; the last page is the first slice of the reverse order.

The number of pages comes from the board's counter (board/visibility.py's
`listed_thread_count`), never from a count of the rows. Of each thread's author and last
post, the listing reads with the thread what it shows (two names and a date), and no more:
no post text, and no User or Post to build thirty times (board/forum/rows.py draws the rows).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import aliased, with_expression
from sqlalchemy.orm.attributes import set_committed_value

from board.accounts.models import User
from board.extensions import db
from board.forum.models import Board, Post, Thread
from board.permissions import is_staff
from board.visibility import listed_thread_count, visible_threads

KEY = (Thread.pinned, Thread.last_activity_at, Thread.id)
STAMP = "%Y%m%d%H%M%S%f"


class BadPage(ValueError):
    """A page that does not exist (beyond the last one) or a key that means nothing: 404."""


def key_of(thread: Thread) -> str:
    """The readable key of a thread's place in the order: `<pinned>.<UTC time>.<id>`."""
    stamp = thread.last_activity_at.astimezone(UTC).strftime(STAMP)
    return f"{int(thread.pinned)}.{stamp}.{thread.id}"


def parse_key(text: str) -> tuple[bool, datetime, int]:
    try:
        pinned, stamp, thread_id = text.split(".")
        if pinned not in ("0", "1") or not thread_id.isdigit() or len(thread_id) > 18:
            raise ValueError(text)
        moment = datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)
    except ValueError:
        raise BadPage(text) from None
    return pinned == "1", moment, int(thread_id)


@dataclass
class Page:
    """One page of a listing, with what its links need (templates/_macros.html's
    `keyset_pagination`): numbers, and the keys next to it."""

    items: list
    page: int
    pages: int
    total: int
    has_prev: bool
    has_next: bool
    first_key: str | None = None
    last_key: str | None = None
    numbers: list = field(default_factory=list)

    def __post_init__(self):
        self.numbers = page_numbers(self.page, self.pages)


def page_numbers(current: int, pages: int) -> list[int | None]:
    """1 … the pages around `current` … the last one (None for a gap)."""
    shown = {1, pages} | set(range(max(current - 2, 1), min(current + 3, pages) + 1))
    numbers: list[int | None] = []
    for number in sorted(shown):
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _rows(board: Board, viewer):
    """Threads of `board` that `viewer` sees, with what a listing shows of their author and
    last post (their names and its date) and nothing more: no post text, no User, no Post."""
    return _listing(Thread.board_id == board.id, viewer)


def _listing(where, viewer):
    author, last_post, last_poster = aliased(User), aliased(Post), aliased(User)
    return visible_threads(
        select(Thread).where(where)
        .join(author, author.id == Thread.author_id)
        .outerjoin(last_post, last_post.id == Thread.last_post_id)
        .outerjoin(last_poster, last_poster.id == last_post.author_id)
        .options(with_expression(Thread.author_name, author.name),
                 with_expression(Thread.last_post_at, last_post.created_at),
                 with_expression(Thread.last_poster_name, last_poster.name)), viewer)


def _known_limit(count: int):
    """A LIMIT written into the SQL rather than bound: PostgreSQL plans a prepared listing
    once for good only when it knows how many rows it returns; with LIMIT $1 it plans it
    again at every page view (0.6 ms against 0.2 ms a board page, bench-seeded database)."""
    return bindparam("rows", count, literal_execute=True)


def _newest_first(stmt):
    return stmt.order_by(*(column.desc() for column in KEY))


def _oldest_first(stmt):
    return stmt.order_by(*KEY)


def board_page(board: Board, viewer, per_page: int, page: int | None = None,
               after: str | None = None, before: str | None = None) -> Page:
    """The page of `board` that `viewer` asked for: after a key, before a key, or by number
    (the first page without any). Raises BadPage for a page beyond the last or a bad key."""
    total = listed_thread_count(viewer, board)
    pages = max(-(-total // per_page), 1)
    label = page
    if page is not None and not 1 <= page <= pages and after is None and before is None:
        raise BadPage(page)
    if after is not None:
        stmt = _newest_first(_rows(board, viewer).where(tuple_(*KEY) < parse_key(after)))
        items = list(db.session.scalars(stmt.limit(_known_limit(per_page + 1))))
        has_next = len(items) > per_page
        items = items[:per_page]
        if not items:  # nothing after it any more (deleted meanwhile): the last page
            return board_page(board, viewer, per_page, page=pages)
        number = pages if not has_next else min(max(label or 2, 2), pages)
        return _page(board, items, number, pages, total, has_prev=True, has_next=has_next)
    if before is not None:
        stmt = _oldest_first(_rows(board, viewer).where(tuple_(*KEY) > parse_key(before)))
        items = list(db.session.scalars(stmt.limit(_known_limit(per_page + 1))))
        if len(items) <= per_page:  # the beginning is reached: that is the first page
            return board_page(board, viewer, per_page)
        items = items[:per_page][::-1]
        number = min(max(label or 1, 2), pages)
        return _page(board, items, number, pages, total, has_prev=True, has_next=True)
    number = page or 1
    if number == 1:
        items = list(db.session.scalars(_first_page(viewer, per_page),
                                        {"board_id": board.id}))
    else:
        items = list(db.session.scalars(_numbered(board, viewer, per_page, number, total)))
    return _page(board, items, number, pages, total, has_prev=number > 1,
                 has_next=number < pages)


_FIRST_PAGES: dict[tuple[bool, int], object] = {}


def _first_page(viewer, per_page: int):
    """The statement of a board's first page, the one most read, built once for staff and
    once for everyone else (the board's id its parameter): building it costs more than
    running it."""
    key = (is_staff(viewer), per_page)
    if (stmt := _FIRST_PAGES.get(key)) is None:
        stmt = _FIRST_PAGES[key] = _newest_first(
            _listing(Thread.board_id == bindparam("board_id"), viewer)
        ).limit(_known_limit(per_page))
    return stmt


def _numbered(board: Board, viewer, per_page: int, number: int, total: int):
    """Page `number` by its slice of ids, from whichever end of the order is nearer: the
    ids on the index alone, then only those rows."""
    start = (number - 1) * per_page
    ids = visible_threads(select(Thread.id).where(Thread.board_id == board.id), viewer)
    if start <= total // 2:
        ids = _newest_first(ids).offset(start).limit(_known_limit(per_page))
    else:
        end = min(start + per_page, total)
        ids = _oldest_first(ids).offset(total - end).limit(_known_limit(end - start))
    return _newest_first(_rows(board, viewer).where(Thread.id.in_(ids)))


def _page(board: Board, items: list, number: int, pages: int, total: int, has_prev: bool,
          has_next: bool) -> Page:
    for thread in items:  # their board is this one: no look-up per row for what it allows
        set_committed_value(thread, "board", board)
    return Page(items=items, page=number, pages=pages, total=total, has_prev=has_prev,
                has_next=has_next, first_key=key_of(items[0]) if items else None,
                last_key=key_of(items[-1]) if items else None)
