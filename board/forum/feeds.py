"""Forum feeds: latest threads of all public boards, of one board, posts of one thread.

Each is a stamp query (one small query, enough for a 304) and an items query, built as a
guest sees the site through the same visibility helpers as the pages.
"""

from flask import Blueprint, abort, current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from board import feeds
from board.extensions import db
from board.forum import stamps
from board.forum.models import Board, Post, Thread
from board.pagecache import guest_cached
from board.urls import absolute
from board.visibility import GUEST, visible_boards, visible_posts, visible_threads

bp = Blueprint("forum_feeds", __name__)
FORMATS = "<any(rss,atom):fmt>"


def thread_url(thread: Thread, **kwargs) -> str:
    return absolute(url_for("forum.thread", thread_id=thread.id, slug=thread.slug, **kwargs))


def _thread_items(threads) -> list[feeds.Item]:
    """One item per thread: its first post (as a guest sees it: a thread a guest sees shows
    its first post), with its board and any official incident."""
    first_ids = [t.first_post_id for t in threads if t.first_post_id is not None]
    first = {p.thread_id: p for p in db.session.scalars(visible_posts(
        select(Post).where(Post.id.in_(first_ids)), GUEST))} if first_ids else {}
    items = []
    for thread in threads:
        post = first.get(thread.id)
        html = _incident_note(thread) + Markup(feeds.absolute_html(post.body_html if post else ""))
        categories = [(thread.board.slug, thread.board.name)]
        if thread.service_id and (name_of := current_app.extensions.get("service_name")):
            categories.append((f"service-{thread.service_id}", name_of(thread.service_id)))
        if thread.incident_id:
            categories.append(("incident", _("Official incident")))
        if thread.solution_post_id:
            categories.append(("solved", _("Solved")))
        items.append(feeds.Item(
            key=f"thread-{thread.id}", title=_solved_title(thread), link=thread_url(thread),
            published=thread.created_at,
            updated=(post.edited_at or post.created_at) if post else thread.created_at,
            html=str(html), author=thread.author.name, categories=categories))
    return items


def _solved_title(thread: Thread) -> str:
    """A solved help thread says so in its title (board/forum/solutions.py)."""
    return _("[Solved] %(title)s", title=thread.title) if thread.solution_post_id \
        else thread.title


def _incident_note(thread: Thread) -> Markup:
    """A linked thread's items say so, and link the official incident."""
    if not thread.incident_id:
        return Markup("")
    incident = absolute(f"/travaux/incidents/{thread.incident_id}")
    return Markup('<p><strong>{}</strong> <a href="{}">{}</a></p>\n').format(
        _("Official incident:"), incident, _("follow it on Travaux"))


def _threads_stmt(board_id=None):
    """The newest threads a guest sees, read down an index (ix_threads_created, or
    ix_threads_board_created for one board)."""
    stmt = visible_threads(
        select(Thread).options(joinedload(Thread.author), joinedload(Thread.board)), GUEST)
    if board_id is not None:
        stmt = stmt.where(Thread.board_id == board_id)
    return stmt.order_by(Thread.created_at.desc(), Thread.id.desc()).limit(feeds.MAX_ITEMS)


def _threads(stmt) -> list[Thread]:
    return list(db.session.scalars(stmt).unique())


@bp.get(f"/feed.{FORMATS}")
@guest_cached(stamps.site_stamp)
def site_feed(fmt: str):
    stamp = feeds.Stamp(*db.session.execute(visible_boards(
        select(func.max(Board.changed_at), func.coalesce(func.sum(Board.thread_count), 0)),
        GUEST)).one())
    if (cached := feeds.not_modified(stamp, fmt)) is not None:
        return cached
    with force_locale(feeds.language()):
        return feeds.respond(
            fmt, stamp, title=_("Community: latest threads"),
            subtitle=_("New threads in every public board of the community forums."),
            page_url=absolute(url_for("forum.index")), language=feeds.language(),
            items=_thread_items(_threads(_threads_stmt())))


@bp.get(f"/boards/<slug>/feed.{FORMATS}")
@guest_cached(stamps.board_stamp)
def board_feed(slug: str, fmt: str):
    row = db.session.execute(visible_boards(
        select(Board.id, Board.name, Board.changed_at, Board.thread_count)
        .where(Board.slug == slug), GUEST)).first()
    if row is None:
        abort(404)
    board_id, name, changed_at, count = row
    stamp = feeds.Stamp(changed_at, count)
    if (cached := feeds.not_modified(stamp, fmt)) is not None:
        return cached
    with force_locale(feeds.language()):
        return feeds.respond(
            fmt, stamp, title=_("Community: %(board)s", board=name),
            subtitle=_("Latest threads of the board %(board)s.", board=name),
            page_url=absolute(url_for("forum.board", slug=slug)), language=feeds.language(),
            items=_thread_items(_threads(_threads_stmt(board_id))))


@bp.get(f"/threads/<int:thread_id>/feed.{FORMATS}")
@guest_cached(stamps.thread_stamp)
def thread_feed(thread_id: int, fmt: str):
    stamp = feeds.stamp_or_404(db.session.execute(visible_threads(
        select(Thread.changed_at, Thread.post_count).where(Thread.id == thread_id),
        GUEST)).first())
    if (cached := feeds.not_modified(stamp, fmt)) is not None:
        return cached
    thread = db.session.get(Thread, thread_id)
    posts = db.session.scalars(visible_posts(
        select(Post).where(Post.thread_id == thread.id).options(joinedload(Post.author))
        .order_by(Post.created_at.desc(), Post.id.desc()).limit(feeds.MAX_ITEMS), GUEST)).all()
    with force_locale(feeds.language()):
        return feeds.respond(
            fmt, stamp, title=_("Community: %(title)s", title=_solved_title(thread)),
            subtitle=_("Messages of the thread “%(title)s”.", title=thread.title),
            page_url=thread_url(thread), language=feeds.language(),
            items=_post_items(thread, posts))


def _post_items(thread: Thread, posts: list[Post]) -> list[feeds.Item]:
    per_page = current_app.config["POSTS_PER_PAGE"]
    note = _incident_note(thread)
    items = []
    for rank, post in enumerate(posts):
        position = thread.post_count - 1 - rank  # posts come newest first
        page = position // per_page + 1
        link = thread_url(thread, page=page if page > 1 else None, _anchor=f"post-{post.id}")
        title = _solved_title(thread) if position == 0 else _(
            "%(name)s in “%(title)s”", name=post.author.name, title=thread.title)
        categories = [(thread.board.slug, thread.board.name)]
        if post.id == thread.solution_post_id:
            categories.append(("solution", _("Solution")))
        if post.official:
            categories.append(("official", _("Official answer")))
        items.append(feeds.Item(
            key=f"post-{post.id}", title=title, link=link, published=post.created_at,
            updated=post.edited_at or post.created_at,
            html=str(note + Markup(feeds.absolute_html(post.body_html))),
            author=post.author.name, categories=categories))
    return items
