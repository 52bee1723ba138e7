"""Forum operations: opening threads, replying, editing, hiding, moderating.

A public function that says "Commits." is one unit of work: it changes the rows, keeps the
counters right, writes the audit log for staff actions, and commits. `add_thread`, `add_post`
and `add_board` work in the caller's transaction (Travaux opens and relays with them). What a
viewer may see is board/visibility.py's to say.
"""

import re
import unicodedata
from datetime import timedelta

from blinker import Namespace
from flask import current_app, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from board.accounts.services import make_token
from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum import mentions, reading
from board.forum.drafts import drop_draft
from board.forum.models import PUBLIC, Affected, Board, Post, Thread, Watch
from board.forum.notifications import notify, notify_each, wants_mail
from board.forum.revisions import add_revision
from board.markup import escape_md, excerpt
from board.outbox.services import queue, queue_mail
from board.permissions import has_role, is_admin, is_staff
from board.urls import absolute
from board.visibility import (
    GUEST,
    can_see_board,
    can_see_post,
    can_see_thread,
    shown,
    visible_posts,
)

# Sent when a thread appears to guests or disappears from them (hidden, shown, moved across
# visibilities), in the caller's transaction: domains that list it elsewhere (Travaux lists
# an incident's threads) refresh what depends on it. Receivers connect in their init_app.
thread_visibility_changed = Namespace().signal("thread-visibility-changed")


class ForumError(ValueError):
    """An operation refused for a reason the user should read."""


def can_edit(user, post: Post) -> bool:
    """Authors edit their own posts while they see them and the thread is open; moderators
    any post but an official answer, which speaks for the host: only its author and admins
    edit that."""
    if is_staff(user):
        return not post.official or post.author_id == user.id or is_admin(user)
    return (has_role(user, "member") and post.author_id == user.id
            and can_see_post(user, post) and not post.thread.is_locked)


# Counters ------------------------------------------------------------------------------
# A recount first locks the row it rewrites (a thread before its board, boards by id), so
# two writers at once never both count without the other's post and write back a stale number
# (READ COMMITTED). FOR NO KEY UPDATE: inserting a post holds a KEY SHARE lock on its thread,
# which FOR UPDATE would wait for. SQLite has no row locks and needs none: writers take turns.

def _lock(row) -> None:
    """Flush, then lock `row` until commit and read it afresh."""
    db.session.flush()
    model = type(row)
    db.session.execute(select(model).where(model.id == row.id).with_for_update(key_share=True)
                       .execution_options(populate_existing=True))


def _recount_thread(thread: Thread) -> None:
    """Recount a thread's shown posts and latest activity from the posts themselves."""
    _lock(thread)
    count, last_id, last_at = db.session.execute(
        select(func.count(Post.id), func.max(Post.id), func.max(Post.created_at))
        .where(Post.thread_id == thread.id, shown(Post))
    ).one()
    thread.post_count, thread.last_post_id = count, last_id
    thread.last_activity_at = last_at or thread.created_at
    thread.changed_at = now()


def _recount_board(board: Board) -> None:
    """Recount a board's shown threads and posts, and find its latest shown post."""
    _lock(board)
    threads, posts, last_id = db.session.execute(
        select(func.count(Thread.id), func.coalesce(func.sum(Thread.post_count), 0),
               func.max(Thread.last_post_id))
        .where(Thread.board_id == board.id, shown(Thread))
    ).one()
    board.thread_count, board.post_count, board.last_post_id = threads, posts, last_id
    board.changed_at = now()


def _recount(thread: Thread) -> None:
    _recount_thread(thread)
    _recount_board(thread.board)


# Writing ------------------------------------------------------------------------------

def slugify(text: str, fallback: str = "sujet") -> str:
    """The readable part of a thread's address: ASCII, lower case, dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].rstrip("-") or fallback


def open_thread(board: Board, author, title: str, body: str, official: bool = False,
                service_id: int | None = None) -> Thread:
    """Start a thread in `board` with its first post, about `service_id` if given; its author
    watches it. Commits."""
    thread = add_thread(board, author, title, body, official=official and is_staff(author),
                        service_id=service_id)
    drop_draft(author, board=board)
    db.session.commit()
    return thread


def add_thread(board: Board, author, title: str, body: str, official: bool = False,
               service_id: int | None = None) -> Thread:
    """Start a thread in the caller's transaction (Travaux opens discussion threads so);
    its author watches it."""
    moment = now()
    thread = Thread(board=board, author=author, title=title.strip(), slug=slugify(title),
                    created_at=moment, last_activity_at=moment, affected_count=1,
                    service_id=service_id)
    db.session.add(thread)
    columns, mentioned = _body(body)
    first = Post(thread=thread, author=author, **columns, created_at=moment,
                 official=official)
    db.session.add(first)
    _recount(thread)
    thread.first_post_id = first.id  # flushed by the recount
    _watch(thread, author)
    mentions.tell(first, author, mentioned)
    return thread


def reply(thread: Thread, author, body: str, official: bool = False) -> Post:
    """Add a post to `thread`; a locked thread only takes staff replies. Commits."""
    if thread.is_locked and not is_staff(author):
        raise ForumError("locked")
    post = add_post(thread, author, body, official=official and is_staff(author))
    _watch(thread, author)
    drop_draft(author, thread=thread)
    db.session.commit()
    return post


def add_post(thread: Thread, author, body: str, official: bool = False,
             tell_watchers: bool = True) -> Post:
    """Add a post in the caller's transaction (used by `reply` and by relayed updates);
    the thread's watchers get it in their next digest mail, unless the caller mails them
    itself (`tell_watchers=False`: a postmortem, mailed once per person)."""
    columns, mentioned = _body(body)
    post = Post(thread=thread, author=author, **columns, created_at=now(), official=official)
    db.session.add(post)
    _recount(thread)
    if tell_watchers:
        _wake_watchers(thread, author, post, mentioned)
    else:
        # Told otherwise: the watchers with no digest waiting count it as told, so that
        # their next digest does not bring it again.
        db.session.execute(update(Watch).where(Watch.thread_id == thread.id,
                                               Watch.pending_since.is_(None))
                           .values(notified_post_id=post.id),
                           execution_options={"synchronize_session": False})
    mentions.tell(post, author, mentioned)
    return post


def _body(source: str) -> tuple[dict, list]:
    """A post's text columns (its Markdown source, the HTML and the preview made from it),
    and the members it mentions."""
    body_html, mentioned = mentions.render_post(source)
    return ({"body_source": source, "body_html": body_html, "excerpt": excerpt(body_html)},
            mentioned)


def _wake_watchers(thread: Thread, author, post: Post, mentioned=()) -> None:
    """Queue one digest per watcher who has none waiting: later replies join it."""
    delay = timedelta(seconds=current_app.config["WATCH_DIGEST_SECONDS"])
    # Every watch row of the thread is locked and read afresh: a digest being built right
    # now has cleared its pending mark by the time we look, so this reply is never lost.
    watchers = db.session.scalars(
        select(Watch).where(Watch.thread_id == thread.id, Watch.user_id != author.id)
        .with_for_update().execution_options(populate_existing=True)).all()
    for row in (w for w in watchers if w.pending_since is None):
        row.pending_since = now()
        message = queue("watch_digest", {"thread_id": thread.id, "user_id": row.user_id})
        message.due_at = now() + delay
    # In the site, a watcher this post mentions hears of the mention alone.
    skip = {user.id for user in mentioned}
    notify_each("reply", {w.user_id: post for w in watchers if w.user_id not in skip}, author)


def send_digest(payload: dict) -> None:
    """The worker's half (outbox kind `watch_digest`, in the worker's transaction): one mail
    with every reply since the member was last told."""
    row = db.session.get(Watch, (payload["thread_id"], payload["user_id"]))
    if row is None:
        return  # they stopped watching meanwhile
    row.pending_since = None
    thread, user = db.session.get(Thread, row.thread_id), row.user
    if not user.is_active or not can_see_thread(user, thread) or not wants_mail(user, "reply"):
        row.notified_post_id = thread.last_post_id  # a later "mail" choice starts from now
        return
    # What they already read in the site is left out (board/forum/reading.py).
    posts = db.session.scalars(visible_posts(
        select(Post).where(Post.thread_id == thread.id, Post.author_id != user.id,
                           Post.id > (row.notified_post_id or 0),
                           reading.unread_by(user, thread))
        .order_by(Post.id), user)).all()
    if not posts:
        return
    row.notified_post_id = posts[-1].id
    token = make_token("unwatch", user.id, thread.id)
    # What other domains add (app.extensions["digest_notes"]): Travaux's "is it fixed?".
    notes = [n for note in current_app.extensions.get("digest_notes", ())
             if (n := note(thread, user)) is not None]
    queue_mail(user.email, "watch_digest", user.locale, user=user, thread=thread, posts=posts,
               notes=notes,
               first=absolute(url_for("forum.post", post_id=posts[0].id)),
               unwatch=absolute(url_for("forum.unwatch", token=token)))


# Watching and "affected too" ---------------------------------------------------------

def _watch(thread: Thread, user) -> None:
    """Make `user` watch `thread`; watching twice is once. They hear of replies that come
    after this moment."""
    if db.session.get(Watch, (thread.id, user.id)) is None:
        _add_watchers(thread, [user.id])


def _add_watchers(thread: Thread, user_ids) -> None:
    """Watches of `thread` for members who have none yet (the caller checked)."""
    db.session.flush()
    moment = now()
    db.session.add_all(Watch(thread_id=thread.id, user_id=user_id, created_at=moment,
                             notified_post_id=thread.last_post_id) for user_id in user_ids)


def set_watching(thread: Thread, user, watching: bool) -> None:
    """Start or stop watching a thread. Commits."""
    row = db.session.get(Watch, (thread.id, user.id))
    if watching:
        _watch(thread, user)
    elif row is not None:
        db.session.delete(row)
    db.session.commit()


def viewer_state(thread: Thread, user) -> tuple[bool, bool]:
    """Whether `user` said they are affected by `thread`, and whether they watch it (1 query)."""
    return tuple(db.session.execute(select(
        select(Affected).where(Affected.thread_id == thread.id, Affected.user_id == user.id)
        .exists(),
        select(Watch).where(Watch.thread_id == thread.id, Watch.user_id == user.id).exists(),
    )).one())


def mark_affected(thread: Thread, user) -> None:
    """Say "me too" on a report: counted once per member; its author is counted already
    (they reported it). They watch the thread from then on. Commits."""
    if user.id == thread.author_id:
        raise ForumError("author")
    if db.session.get(Affected, (thread.id, user.id)) is None:
        db.session.add(Affected(thread_id=thread.id, user_id=user.id, created_at=now()))
        _watch(thread, user)
    try:
        _count_affected(thread)
        db.session.commit()
    except IntegrityError:
        # The same member's double click, in two requests at once: counted once already.
        db.session.rollback()


def unmark_affected(thread: Thread, user) -> None:
    """Take a "me too" back. Commits."""
    row = db.session.get(Affected, (thread.id, user.id))
    if row is not None:
        db.session.delete(row)
    _count_affected(thread)
    db.session.commit()


def _count_affected(thread: Thread) -> None:
    """Members affected: the author, and those who said "me too" (never the author)."""
    _lock(thread)
    thread.affected_count = 1 + db.session.scalar(
        select(func.count()).select_from(Affected).where(Affected.thread_id == thread.id))


def page_of(post: Post, viewer, per_page: int) -> int:
    """The page of its thread on which `viewer` finds `post` (posts they may see, in order)."""
    before = visible_posts(
        select(func.count(Post.id)).where(Post.thread_id == post.thread_id)
        .where((Post.created_at < post.created_at)
               | ((Post.created_at == post.created_at) & (Post.id < post.id))), viewer)
    return db.session.scalar(before) // per_page + 1


def first_post_id(thread: Thread) -> int | None:
    """The id of the post that opened `thread`, whoever may see it."""
    return db.session.scalar(select(func.min(Post.id)).where(Post.thread_id == thread.id))


def edit_post(post: Post, editor, body: str, title: str | None = None) -> None:
    """Replace a post's text (and the thread's title, for a first post); marked as edited,
    and in the audit log when the editor is not the author; the text it replaces is kept
    (board/forum/revisions.py). Commits."""
    add_revision(post, editor, body, title)
    columns, mentioned = _body(body)
    for name, value in columns.items():
        setattr(post, name, value)
    post.edited_at = post.thread.changed_at = post.thread.board.changed_at = now()
    post.edited_by_id = editor.id
    if title and post.id == first_post_id(post.thread):
        post.thread.title = title.strip()
        post.thread.slug = slugify(title)
    if editor.id != post.author_id:
        record(editor, "post.edit", "post", post.id, thread=post.thread_id)
    mentions.tell(post, post.author, mentioned)  # those it names anew: the others were told
    db.session.commit()


def hide_post(post: Post, actor) -> None:
    """Hide a post (how its author deletes it). Hiding a thread's first post hides the whole
    thread. Commits."""
    add_hiding(post, actor)
    if actor.id != post.author_id:
        record(actor, "post.hide", "post", post.id, thread=post.thread_id)
    db.session.commit()


def add_hiding(post: Post, actor) -> None:
    """Hide a post in the caller's transaction, unlogged. `actor` None is the system: flags
    from enough members (board/forum/flags.py) hide a post, a first one too, as staff may."""
    thread = post.thread
    if post.id == first_post_id(thread):
        if actor is not None and not is_staff(actor) and thread.post_count > 1:
            raise ForumError("has-replies")
        thread.hidden_at, thread.hidden_by_id = now(), actor.id if actor else None
        thread_visibility_changed.send(thread)
    post.hidden_at, post.hidden_by_id = now(), actor.id if actor else None
    if thread.solution_post_id == post.id:  # a hidden reply solves nothing any more
        thread.solution_post_id = None
    _recount(thread)


def unhide_post(post: Post, actor) -> None:
    """Show a hidden post again (its thread too, for a first post). Commits."""
    add_showing(post)
    record(actor, "post.unhide", "post", post.id, thread=post.thread_id)
    db.session.commit()


def add_showing(post: Post) -> None:
    """Show a hidden post again in the caller's transaction, unlogged (its thread too, for a
    first post)."""
    thread = post.thread
    post.hidden_at = post.hidden_by_id = None
    if post.id == first_post_id(thread):
        thread.hidden_at = thread.hidden_by_id = None
        thread_visibility_changed.send(thread)
    _recount(thread)


# Moderation of threads ------------------------------------------------------------------

def lock(thread: Thread, actor, locked: bool = True) -> None:
    """Lock a thread (only staff reply then) or unlock it. Commits."""
    thread.locked_at = now() if locked else None
    record(actor, "thread.lock" if locked else "thread.unlock", "thread", thread.id)
    db.session.commit()


def pin(thread: Thread, actor, pinned: bool = True) -> None:
    """Pin a thread at the top of its board, or unpin it. Commits."""
    thread.pinned = pinned
    record(actor, "thread.pin" if pinned else "thread.unpin", "thread", thread.id)
    db.session.commit()


def hide_thread(thread: Thread, actor, hidden: bool = True) -> None:
    """Hide or show a whole thread. Showing it shows its first post too (hiding that post
    is what hides a thread). Commits."""
    thread.hidden_at, thread.hidden_by_id = (now(), actor.id) if hidden else (None, None)
    if not hidden:
        first = db.session.get(Post, first_post_id(thread))
        first.hidden_at = first.hidden_by_id = None
        _recount_thread(thread)
    thread.changed_at = now()
    thread_visibility_changed.send(thread)
    record(actor, "thread.hide" if hidden else "thread.unhide", "thread", thread.id)
    _recount_board(thread.board)
    db.session.commit()


def move(thread: Thread, target: Board, actor) -> None:
    """Move a thread to another board; both boards' counters follow. Commits."""
    source = thread.board
    if source.id == target.id:
        return
    thread.board = target
    thread.changed_at = now()
    if can_see_board(GUEST, source) != can_see_board(GUEST, target):
        thread_visibility_changed.send(thread)
    record(actor, "thread.move", "thread", thread.id, source=source.slug, target=target.slug)
    for board in sorted((source, target), key=lambda b: b.id):
        _recount_board(board)
    db.session.commit()


def set_service(thread: Thread, service_id: int | None, actor) -> None:
    """Say which service a report is about (a moderator's correction, in the audit log).
    Commits."""
    if thread.service_id != service_id:
        record(actor, "thread.service", "thread", thread.id, before=thread.service_id,
               after=service_id)
        thread.service_id = service_id
    db.session.commit()


def thread_number(text: str) -> int | None:
    """The thread a pasted address or number points at (a port in the address is no thread)."""
    match = re.search(r"/threads/(\d+)", text) or re.fullmatch(r"\s*#?(\d+)\s*", text)
    number = int(match.group(1)) if match else None
    return number if number and number < 2**31 else None


def merge_duplicate(source: Thread, target: Thread, actor) -> int:
    """Mark `source` a duplicate of `target`. Its "affected" marks, its author's included,
    move to the target, each member counted once (never the target's author, counted
    already); its watchers watch the target; it is locked, with a link to the target; an
    official post in the target says so, and so does its feed; its author is told by mail.
    Returns how many members the target gained. Commits."""
    if source.id == target.id:
        raise ForumError("merge-self")
    if source.duplicate_of_id is not None:
        raise ForumError("merge-done")
    if target.duplicate_of_id is not None:
        raise ForumError("merge-chain")
    for thread in sorted((source, target), key=lambda t: t.id):
        _lock(thread)  # a "me too" clicked meanwhile lands before or after, never lost
    marks = db.session.scalars(select(Affected).where(Affected.thread_id == source.id)).all()
    counted = set(db.session.scalars(select(Affected.user_id)
                                     .where(Affected.thread_id == target.id)))
    # Each mark keeps its moment (the author's is the report's): a merge is no new "me too",
    # and Travaux's spike detector must not read one.
    since = {mark.user_id: mark.created_at for mark in marks}
    since.setdefault(source.author_id, source.created_at)
    moving = set(since) - counted - {target.author_id}
    for mark in marks:
        db.session.delete(mark)
    moment = now()
    for user_id in sorted(moving):
        db.session.add(Affected(thread_id=target.id, user_id=user_id, created_at=since[user_id]))
    # The source's watchers watch the target: two queries whatever their number.
    watching = select(Watch.user_id).where(Watch.thread_id == target.id)
    _add_watchers(target, db.session.scalars(select(Watch.user_id).where(
        Watch.thread_id == source.id, Watch.user_id.not_in(watching))).all())
    source.duplicate_of_id = target.id
    source.locked_at = source.locked_at or moment
    _count_affected(source)
    _count_affected(target)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        note = _("The report “%(title)s” (%(url)s) was merged into this thread as a duplicate.",
                 title=escape_md(source.title),
                 url=absolute(url_for("forum.thread", thread_id=source.id, slug=source.slug)))
        if moving:
            note += " " + ngettext("%(num)d more member is counted as affected here.",
                                   "%(num)d more members are counted as affected here.",
                                   len(moving))
    merged = add_post(target, actor, note, official=True)
    record(actor, "thread.merge", "thread", source.id, thread=target.id)
    author = source.author
    notify(author, "merged", actor=actor, thread=target, post=merged)
    if (author.is_active and author.id != actor.id and can_see_thread(author, target)
            and wants_mail(author, "merged")):
        queue_mail(author.email, "thread_merged", author.locale, user=author, source=source,
                   target=target, link=absolute(url_for("forum.thread", thread_id=target.id,
                                                        slug=target.slug)))
    db.session.commit()
    return len(moving)


def add_board(slug: str, name: str, description: str = "", visibility: str = PUBLIC,
              position: int | None = None, default_service_id: int | None = None,
              solvable: bool = False) -> Board:
    """Add a board in the caller's transaction, last unless a position is given."""
    if position is None:
        position = (db.session.scalar(select(func.max(Board.position))) or 0) + 1
    board = Board(slug=slug, name=name, description=description, visibility=visibility,
                  position=position, default_service_id=default_service_id, solvable=solvable)
    db.session.add(board)
    db.session.flush()
    return board


def slug_taken(slug: str, except_board: Board | None = None) -> bool:
    """Whether another board already has the address `slug`."""
    stmt = select(Board.id).where(Board.slug == slug)
    if except_board is not None:
        stmt = stmt.where(Board.id != except_board.id)
    return db.session.scalar(stmt) is not None


def save_board(board: Board | None, actor, **fields) -> Board:
    """Create a board, or change one; an admin action, written to the audit log. Commits."""
    if slug_taken(fields["slug"], except_board=board):
        raise ForumError("slug-taken")
    if board is None:
        board = add_board(**fields)
        record(actor, "board.create", "board", board.id, slug=board.slug)
    else:
        changed = {k: v for k, v in fields.items() if getattr(board, k) != v}
        for key, value in changed.items():
            setattr(board, key, value)
        board.changed_at = now()
        if "visibility" in changed:
            for thread in db.session.scalars(select(Thread).where(Thread.board_id == board.id)):
                thread_visibility_changed.send(thread)
        record(actor, "board.update", "board", board.id, **{k: str(v) for k, v in changed.items()})
    db.session.commit()
    return board


def recount_all() -> None:
    """Recount every board and thread (after a bulk import), and name the first post of
    threads that have none yet: one UPDATE per table, whatever their size. Commits."""
    db.session.flush()
    posts = select(Post).where(Post.thread_id == Thread.id).correlate(Thread)
    shown_posts = posts.where(shown(Post))
    last_at = shown_posts.with_only_columns(func.max(Post.created_at)).scalar_subquery()
    db.session.execute(update(Thread).values(
        post_count=shown_posts.with_only_columns(func.count(Post.id)).scalar_subquery(),
        last_post_id=shown_posts.with_only_columns(func.max(Post.id)).scalar_subquery(),
        last_activity_at=func.coalesce(last_at, Thread.created_at),
        first_post_id=func.coalesce(
            Thread.first_post_id, posts.with_only_columns(func.min(Post.id)).scalar_subquery()),
        changed_at=now()).execution_options(synchronize_session=False))
    threads = select(Thread).where(Thread.board_id == Board.id, shown(Thread)).correlate(Board)
    db.session.execute(update(Board).values(
        thread_count=threads.with_only_columns(func.count(Thread.id)).scalar_subquery(),
        post_count=threads.with_only_columns(
            func.coalesce(func.sum(Thread.post_count), 0)).scalar_subquery(),
        last_post_id=threads.with_only_columns(func.max(Thread.last_post_id)).scalar_subquery(),
        changed_at=now()).execution_options(synchronize_session=False))
    db.session.expire_all()
    db.session.commit()


