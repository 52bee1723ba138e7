"""Pages of the forum: boards, threads, posting and moderation."""

from functools import cache

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import bindparam, false, select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from board.accounts.models import User
from board.accounts.services import AccountError, read_token
from board.audit import AuditLog
from board.extensions import db, limiter
from board.forum import (
    drafts,
    forms,
    listing,
    mentions,
    moderation,
    notifications,
    reading,
    services,
    stamps,
)
from board.forum.models import Board, Post, Thread
from board.forum.services import ForumError
from board.pagecache import guest_cached
from board.permissions import can_post, confirmed_required, is_staff, login_required, role_required
from board.visibility import (
    can_see_post,
    can_see_thread,
    visible_boards,
    visible_posts,
    visible_threads,
)

bp = Blueprint("forum", __name__)


def get_board(slug: str) -> Board:
    """The board with `slug` if the current user may see it; abort(404) otherwise."""
    board = db.session.scalars(_board_by_slug(is_staff(current_user)), {"slug": slug}).first()
    if board is None:
        abort(404)
    return board


@cache
def _board_by_slug(staff: bool):
    # Built once for staff and once for everyone else (what visible_boards decides on, for
    # the current user): building it costs more than running it.
    return visible_boards(select(Board).where(Board.slug == bindparam("slug")),
                          current_user).limit(1)


def get_thread(thread_id: int) -> Thread:
    """The thread if the current user may see it; abort(404) otherwise."""
    thread = db.session.scalars(_thread_by_id(is_staff(current_user)),
                                {"thread_id": thread_id}).first()
    if thread is None:
        abort(404)
    return thread


@cache
def _thread_by_id(staff: bool):
    # Built once for staff and once for everyone else, as _board_by_slug.
    return visible_threads(
        select(Thread).options(joinedload(Thread.board),
                               joinedload(Thread.solution_post).joinedload(Post.author))
        .where(Thread.id == bindparam("thread_id")),
        current_user,
    ).limit(1)


def service_choices(field) -> bool:
    """Offer Travaux's services in `field`, after "none"; whether there are any. Travaux
    gives them (app.extensions["report_services"]): the forum never imports it."""
    found = current_app.extensions.get("report_services")
    services_ = found() if found else []
    field.choices = [SelectChoice("", _("Not sure, or none"))] + [
        SelectChoice(service_id, name) for service_id, name in services_]
    return bool(services_)


def get_post(post_id: int) -> Post:
    """The post, in a thread the current user may see; abort(404) otherwise."""
    post = db.get_or_404(Post, post_id)
    if not can_see_post(current_user, post):
        abort(404)
    return post


@bp.get("/")
@guest_cached(stamps.site_stamp)
def index():
    stmt = visible_boards(
        # Of each board's last post, what the index shows: no text, no full thread or author.
        select(Board).options(
            joinedload(Board.last_post).load_only(Post.id, Post.created_at, Post.thread_id,
                                                  Post.author_id)
            .joinedload(Post.thread).load_only(Thread.id, Thread.title),
            joinedload(Board.last_post).joinedload(Post.author).load_only(User.id, User.name),
        ).order_by(Board.position, Board.name),
        current_user,
    )
    return render_template("forum/index.html", boards=db.session.scalars(stmt).all())


@bp.get("/boards/<slug>")
@guest_cached(stamps.board_stamp)
def board(slug: str):
    """A board's threads, a page at a time: `?page=N`, or next to a key (`?after=`,
    `?before=`), as board/forum/listing.py explains."""
    board = get_board(slug)
    number = request.args.get("page")
    if number is not None and not number.isdigit():
        abort(404)
    try:
        page = listing.board_page(
            board, current_user, current_app.config["THREADS_PER_PAGE"],
            page=int(number) if number else None,
            after=request.args.get("after"), before=request.args.get("before"))
    except listing.BadPage:
        abort(404)
    return render_template("forum/board.html", board=board, page=page,
                           marks=reading.page_marks(current_user, page.items))


@bp.route("/boards/<slug>/new", methods=["GET", "POST"])
@confirmed_required
@limiter.limit("10 per hour", methods=["POST"], exempt_when=lambda: is_staff(current_user))
def new_thread(slug: str):
    board = get_board(slug)
    form = forms.ThreadForm()
    has_services = service_choices(form.service)
    if request.method == "GET":
        form.service.data = board.default_service_id
        drafts.restored(form, current_user, board=board)
    # Search's box of ongoing operations and similar reports, when search is there: shown
    # live as one types (board.js), or after a first "Continue" without JavaScript.
    similar = current_app.extensions.get("similar_reports")
    if form.validate_on_submit():
        if similar and not request.form.get("checked"):
            box = similar(form.title.data, current_user, form.service.data)
            if box:
                return render_template("forum/new_thread.html", board=board, form=form,
                                       similar=box, checked=True, has_services=has_services)
        thread = services.open_thread(board, current_user, form.title.data, form.body.data,
                                      official=form.official.data, service_id=form.service.data)
        return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
    return render_template("forum/new_thread.html", board=board, form=form,
                           checked=not similar, has_services=has_services), (
        422 if form.errors else 200)


@bp.get("/threads/<int:thread_id>")
@bp.get("/threads/<int:thread_id>/<slug>")
@guest_cached(stamps.thread_stamp)
def thread(thread_id: int, slug: str | None = None):
    thread = get_thread(thread_id)
    if slug != thread.slug:
        page = request.args.get("page", type=int)
        return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug,
                                page=page), 301)
    if current_user.is_authenticated:
        notifications.thread_seen(current_user, thread)
    stmt = visible_posts(
        select(Post).where(Post.thread_id == thread.id)
        .options(joinedload(Post.author), joinedload(Post.edited_by))
        .order_by(Post.created_at, Post.id),
        current_user,
    )
    # Counters count what is shown: what a guest or a member sees of a thread they may see is
    # its post_count, so only staff (who see hidden posts too) pay for a count(*).
    staff = is_staff(current_user)
    page = db.paginate(stmt, per_page=current_app.config["POSTS_PER_PAGE"], max_per_page=100,
                       count=staff)
    if not staff:
        page.total = thread.post_count
    # A guest gets no form: building one makes a CSRF token, so a session and a cookie.
    form = (drafts.restored(forms.ReplyForm(formdata=None), current_user, thread=thread)
            if current_user.is_authenticated else None)
    html = render_template("forum/thread.html", thread=thread, page=page, form=form,
                           **_thread_tools(thread))
    # After rendering: its commit expires what the page read.
    reading.mark_read(current_user, thread, max((p.id for p in page.items), default=None))
    return html


def _thread_tools(thread: Thread) -> dict:
    affected, watching = (services.viewer_state(thread, current_user)
                          if current_user.is_authenticated else (False, False))
    tools = {"action_form": forms.ActionForm() if current_user.is_authenticated else None,
             "can_post": can_post(current_user),
             "can_edit": lambda post: services.can_edit(current_user, post),
             "is_affected": affected, "is_watching": watching}
    if is_staff(current_user):
        move_form = forms.MoveForm(formdata=None, board=thread.board_id)
        boards = db.session.scalars(select(Board).order_by(Board.position)).all()
        move_form.board.choices = [SelectChoice(b.id, b.name) for b in boards]
        tools["move_form"] = move_form
        tools["merge_form"] = forms.MergeForm(formdata=None)
        service_form = forms.ServiceForm(formdata=None, service=thread.service_id)
        if service_choices(service_form.service):
            tools["service_form"] = service_form
    return tools


@bp.route("/threads/<int:thread_id>/reply", methods=["GET", "POST"])
@confirmed_required
@limiter.limit("30 per hour", methods=["POST"], exempt_when=lambda: is_staff(current_user))
def reply(thread_id: int):
    """The reply form (`?quote=<post id>` starts it with a quote of that post), and its post."""
    thread = get_thread(thread_id)
    form = forms.ReplyForm()
    if request.method == "GET":
        form = drafts.restored(forms.ReplyForm(formdata=None), current_user, thread=thread)
        quoted = request.args.get("quote", type=int)
        post = db.session.get(Post, quoted) if quoted and quoted < 2**31 else None
        if post is not None and post.thread_id == thread.id and can_see_post(current_user, post):
            # After the draft, if any: a quote adds to what is being written.
            draft = (form.body.data or "").rstrip()
            form.body.data = (draft + "\n\n" if draft else "") + mentions.quote_source(post)
        return render_template("forum/reply.html", thread=thread, form=form)
    if form.validate_on_submit():
        try:
            post = services.reply(thread, current_user, form.body.data, form.official.data)
        except ForumError:
            flash(_("This thread is locked: no new replies."), "error")
            return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
        return redirect(url_for("forum.post", post_id=post.id))
    return render_template("forum/reply.html", thread=thread, form=form), 422


@bp.get("/posts/<int:post_id>")
def post(post_id: int):
    """Permalink of a post: the thread page it sits on, scrolled to it."""
    post = get_post(post_id)
    page = services.page_of(post, current_user, current_app.config["POSTS_PER_PAGE"])
    thread = post.thread
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug,
                            page=page if page > 1 else None, _anchor=f"post-{post.id}"))


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@confirmed_required
# An edit renders the post again, as a reply does: the same limit.
@limiter.limit("30 per hour", methods=["POST"], exempt_when=lambda: is_staff(current_user))
def edit_post(post_id: int):
    post = get_post(post_id)
    if not services.can_edit(current_user, post):
        abort(403)
    is_first = post.id == services.first_post_id(post.thread)
    form = forms.EditForm()
    if request.method == "GET":
        form.body.data = post.body_source
        form.title.data = post.thread.title if is_first else ""
    if form.validate_on_submit() and _title_ok(form, is_first):
        services.edit_post(post, current_user, form.body.data,
                           title=form.title.data if is_first else None)
        flash(_("Your changes are saved."), "success")
        return redirect(url_for("forum.post", post_id=post.id))
    return render_template("forum/edit_post.html", post=post, form=form, is_first=is_first), (
        422 if form.errors else 200)


def _title_ok(form, is_first: bool) -> bool:
    if is_first and len(form.title.data or "") < 3:
        form.title.errors = [_("The title needs %(min)d to %(max)d characters.", min=3,
                               max=forms.TITLE_MAX)]
        return False
    return True


@bp.get("/posts/<int:post_id>/delete")
@login_required
def delete_post(post_id: int):
    """Ask before authors delete their own post: the page's button posts to hide_post.
    abort(403) for anyone else's post."""
    post = get_post(post_id)
    if post.author_id != current_user.id:
        abort(403)
    is_first = post.id == services.first_post_id(post.thread)
    blocked = is_first and post.thread.post_count > 1 and not is_staff(current_user)
    return render_template("forum/delete_post.html", post=post, is_first=is_first,
                           blocked=blocked, form=forms.ActionForm())


@bp.post("/posts/<int:post_id>/hide")
@login_required
def hide_post(post_id: int):
    post = get_post(post_id)
    if not (is_staff(current_user) or post.author_id == current_user.id):
        abort(403)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    try:
        services.hide_post(post, current_user)
    except ForumError:
        flash(_("This thread has replies: ask a moderator to remove it."), "error")
        return redirect(url_for("forum.post", post_id=post.id))
    if post.author_id == current_user.id:
        flash(_("Your message is deleted."), "success")
    else:
        flash(_("The message is hidden. To undo it, use “Show again” on the message."),
              "success")
    if not can_see_thread(current_user, post.thread):
        return redirect(url_for("forum.board", slug=post.thread.board.slug))
    return redirect(url_for("forum.thread", thread_id=post.thread_id, slug=post.thread.slug))


@bp.post("/posts/<int:post_id>/unhide")
@role_required("moderator")
def unhide_post(post_id: int):
    post = get_post(post_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    services.unhide_post(post, current_user)
    flash(_("The message is visible again."), "success")
    return redirect(url_for("forum.post", post_id=post.id))


THREAD_ACTIONS = {
    "lock": (lambda t, u: services.lock(t, u, True), lambda: _("The thread is locked.")),
    "unlock": (lambda t, u: services.lock(t, u, False), lambda: _("The thread is unlocked.")),
    "pin": (lambda t, u: services.pin(t, u, True), lambda: _("The thread is pinned.")),
    "unpin": (lambda t, u: services.pin(t, u, False), lambda: _("The thread is unpinned.")),
    "hide": (lambda t, u: services.hide_thread(t, u, True), lambda: _("The thread is hidden.")),
    "unhide": (lambda t, u: services.hide_thread(t, u, False),
               lambda: _("The thread is visible again.")),
}


@bp.post("/threads/<int:thread_id>/<any(lock,unlock,pin,unpin,hide,unhide):action>")
@role_required("moderator")
def moderate_thread(thread_id: int, action: str):
    thread = get_thread(thread_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    operation, message = THREAD_ACTIONS[action]
    operation(thread, current_user)
    flash(message(), "success")
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))


MERGE_ERRORS = {
    "merge-self": lambda: _("A thread cannot be a duplicate of itself."),
    "merge-done": lambda: _("This thread is already marked as a duplicate."),
    "merge-chain": lambda: _("That thread is itself a duplicate: merge into the one it repeats."),
}


@bp.post("/threads/<int:thread_id>/merge")
@role_required("moderator")
def merge_thread(thread_id: int):
    """Mark the thread a duplicate of another one, given by its address or number."""
    thread = get_thread(thread_id)
    form = forms.MergeForm()
    if not form.validate_on_submit():
        abort(400)
    number = services.thread_number(form.target.data)
    target = db.session.get(Thread, number) if number else None
    if target is None or not can_see_thread(current_user, target):
        flash(_("No thread has this address or number."), "error")
        return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
    try:
        gained = services.merge_duplicate(thread, target, current_user)
    except ForumError as error:
        flash(MERGE_ERRORS[str(error)](), "error")
        return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
    flash(ngettext("Merged: %(num)d more member is counted as affected here.",
                   "Merged: %(num)d more members are counted as affected here.", gained),
          "success")
    return redirect(url_for("forum.thread", thread_id=target.id, slug=target.slug))


@bp.post("/threads/<int:thread_id>/service")
@role_required("moderator")
def thread_service(thread_id: int):
    """A moderator says which service the report is about."""
    thread = get_thread(thread_id)
    form = forms.ServiceForm()
    service_choices(form.service)
    if not form.validate_on_submit():
        abort(400)
    services.set_service(thread, form.service.data, current_user)
    flash(_("The report's service is saved."), "success")
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))


@bp.post("/threads/<int:thread_id>/move")
@role_required("moderator")
def move_thread(thread_id: int):
    thread = get_thread(thread_id)
    form = forms.MoveForm()
    form.board.choices = [SelectChoice(b.id, b.name)
                          for b in db.session.scalars(select(Board))]
    if not form.validate_on_submit():
        abort(400)
    services.move(thread, db.session.get(Board, form.board.data), current_user)
    flash(_("The thread is now in %(board)s.", board=thread.board.name), "success")
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))


@bp.get("/moderation")
@role_required("moderator")
def moderation_log():
    """Staff actions, newest first, as sentences; filtered by `action` and `actor`."""
    action = request.args.get("action", "")
    actor = request.args.get("actor", "")
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        # Codes are words and dots: anything else (a NUL byte PostgreSQL refuses) matches none.
        stmt = stmt.where(AuditLog.action == action if moderation.is_code(action) else false())
    if actor == "system":
        stmt = stmt.where(AuditLog.actor_id.is_(None))
    elif actor.isdigit() and len(actor) < 10:  # an id, within a database integer
        stmt = stmt.where(AuditLog.actor_id == int(actor))
    page = db.paginate(stmt, per_page=50, max_per_page=100)
    actors = db.session.execute(select(User.id, User.name).where(
        User.id.in_(select(AuditLog.actor_id).distinct())).order_by(User.name)).all()
    return render_template(
        "forum/moderation_log.html", page=page, filters={"action": action, "actor": actor},
        rows=zip(page.items, moderation.sentences(page.items, current_user), strict=True),
        actions=moderation.action_choices(), actors=actors)


@bp.get("/admin/boards")
@role_required("admin")
def admin_boards():
    boards = db.session.scalars(select(Board).order_by(Board.position, Board.name)).all()
    return render_template("forum/admin_boards.html", boards=boards)


@bp.route("/admin/boards/new", methods=["GET", "POST"])
@bp.route("/admin/boards/<int:board_id>", methods=["GET", "POST"])
@role_required("admin")
def admin_board(board_id: int | None = None):
    board = db.get_or_404(Board, board_id) if board_id else None
    form = forms.BoardForm(obj=board)
    service_choices(form.default_service)
    if request.method == "GET" and board is not None:
        form.default_service.data = board.default_service_id
    if form.validate_on_submit():
        fields = {name: form[name].data for name in
                  ("slug", "name", "description", "position", "visibility", "solvable")}
        fields["default_service_id"] = form.default_service.data
        try:
            services.save_board(board, current_user, **fields)
        except ForumError:
            form.slug.errors.append(_("Another board already uses this address."))
        else:
            flash(_("The board is saved."), "success")
            return redirect(url_for("forum.admin_boards"))
    return render_template("forum/admin_board.html", board=board, form=form), (
        422 if form.errors else 200)


@bp.post("/threads/<int:thread_id>/affected")
@confirmed_required
def affected(thread_id: int):
    """Say "me too" on a report (or take it back)."""
    thread = get_thread(thread_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("affected") == "0":
        services.unmark_affected(thread, current_user)
        flash(_("You are no longer counted as affected."), "info")
    else:
        try:
            services.mark_affected(thread, current_user)
        except ForumError:
            flash(_("You reported this problem: you are already counted."), "info")
        else:
            flash(_("Thank you: you are counted as affected, and you now watch this thread."),
                  "success")
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))


@bp.post("/threads/<int:thread_id>/watch")
@confirmed_required
def watch(thread_id: int):
    """Start or stop watching a thread (mail about new replies, in batches)."""
    thread = get_thread(thread_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    watching = request.form.get("watch") != "0"
    services.set_watching(thread, current_user, watching)
    flash(_("You watch this thread: new replies reach you by mail.") if watching
          else _("You no longer watch this thread."), "success")
    return redirect(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))


@bp.route("/unwatch/<token>", methods=["GET", "POST"])
def unwatch(token: str):
    """The link in every digest mail: a page with a button, no login needed."""
    try:
        user_id, thread_id = read_token("unwatch", token, 90 * 24 * 3600)
    except AccountError:
        abort(404)
    thread, user = db.session.get(Thread, thread_id), db.session.get(User, user_id)
    if thread is None or user is None:
        abort(404)
    # A thread since hidden or moved to a staff board is not named to someone who may no
    # longer see it; they can still stop watching it.
    visible = can_see_thread(user, thread)
    form = forms.ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        services.set_watching(thread, user, False)
        return render_template("forum/unwatched.html", thread=thread, done=True,
                               visible=visible)
    return render_template("forum/unwatched.html", thread=thread, form=form, done=False,
                           visible=visible)
