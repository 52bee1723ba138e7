"""Members as the forum shows them: their profile's address and page, their avatar, and the
bio they edit on their account page.

A profile shows only what its viewer may see (board/visibility.py): a guest or a member never
learns of a staff board's posts or of hidden ones through it, not even by their number. Staff
see more: the address, confirmation, last visit and the moderation history.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from board.accounts.models import User
from board.audit import AuditLog
from board.extensions import db, limiter
from board.forum import moderation, profiles
from board.forum.flag_forms import BioForm
from board.forum.models import Post, Thread
from board.forum.services import slugify
from board.i18n import local_format
from board.permissions import confirmed_required, is_staff
from board.visibility import visible_posts, visible_threads

bp = Blueprint("members", __name__)

RECENT = 10
HISTORY = 20
# Past this, a profile says "more than": a count costs the same for every member.
COUNT_CAP = 10_000


def profile_path(user: User) -> str:
    """`/members/<id>-<slug>`: the id finds the member, the slug only reads well (a renamed
    member's old links still find them)."""
    return f"/members/{user.id}-{slugify(user.name, 'membre')}"


def get_member(user_id: int) -> User:
    """The member, if the viewer may know of them; abort(404) otherwise. An account never
    confirmed has written nothing and is nobody's business but staff's."""
    user = db.get_or_404(User, user_id)
    if not user.is_confirmed and not is_staff(current_user):
        abort(404)
    return user


@bp.get("/members/<int:user_id>")
@bp.get("/members/<int:user_id>-<slug>")
def profile(user_id: int, slug: str | None = None):
    user = get_member(user_id)
    if request.path != profile_path(user):
        return redirect(profile_path(user), 301)
    viewer = current_user
    posts = db.session.scalars(visible_posts(
        select(Post).where(Post.author_id == user.id)
        .options(joinedload(Post.thread).joinedload(Thread.board))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(RECENT), viewer)).all()
    threads = db.session.scalars(visible_threads(
        select(Thread).where(Thread.author_id == user.id).options(joinedload(Thread.board))
        .order_by(Thread.created_at.desc(), Thread.id.desc()).limit(RECENT), viewer)).all()
    staff = _staff_view(user) if is_staff(viewer) else None
    # A closed account keeps its name on its posts, and says nothing more of itself.
    bio = profiles.bio_of(user) if user.is_active else None
    return render_template("forum/profile.html", member=user, posts=posts, threads=threads,
                           post_count=post_count(user, viewer), count_cap=COUNT_CAP, bio=bio,
                           staff=staff, role=moderation.ROLES.get(user.role),
                           since=local_format(user.created_at, "MMMM yyyy"))


def post_count(user: User, viewer) -> int:
    """How many of `user`'s posts `viewer` may see, counted up to COUNT_CAP + 1."""
    shown = visible_posts(select(Post.id).where(Post.author_id == user.id), viewer)
    return db.session.scalar(select(func.count()).select_from(
        shown.limit(COUNT_CAP + 1).subquery())) or 0


def _staff_view(user: User) -> dict:
    """What staff read of a member: the audit log about them, their posts and threads."""
    about = or_(
        and_(AuditLog.target_type == "user", AuditLog.target_id == user.id),
        and_(AuditLog.target_type == "post", AuditLog.target_id.in_(
            select(Post.id).where(Post.author_id == user.id))),
        and_(AuditLog.target_type == "thread", AuditLog.target_id.in_(
            select(Thread.id).where(Thread.author_id == user.id))))
    entries = db.session.scalars(select(AuditLog).where(about)
                                 .order_by(AuditLog.id.desc()).limit(HISTORY)).all()
    return {"history": list(zip(entries, moderation.sentences(entries, current_user),
                                strict=True))}


def bio_section() -> Markup:
    """The account page's "About me" card (app.extensions["account_sections"])."""
    bio = profiles.bio_of(current_user)
    form = BioForm(formdata=None, bio=bio.bio_source if bio else "")
    return Markup(render_template("forum/_bio_section.html", form=form))


@bp.post("/account/bio")
@confirmed_required
@limiter.limit("20 per hour")
def save_bio():
    form = BioForm()
    if not form.validate_on_submit():
        return render_template("forum/bio.html", form=form), 422
    profiles.set_bio(current_user, form.bio.data)
    flash(_("Your bio is saved."), "success")
    return redirect(url_for("accounts.account"))


def init_app(app) -> None:
    """The profile pages, the account page's bio card, and what templates ask to link a
    member to their profile and draw their avatar."""
    app.register_blueprint(bp)
    app.extensions.setdefault("account_sections", []).append(bio_section)
    app.jinja_env.globals.update(profile_path=profile_path, avatar=profiles.avatar)
