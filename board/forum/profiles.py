"""What a member says of themself on their profile (a short bio), and the avatar drawn from
their name: initials on a colour of their own, made here, never fetched from a service."""

import hashlib
import re
from datetime import datetime
from functools import lru_cache

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.markup import render
from board.types import UTCDateTime

BIO_MAX = 1000


class MemberProfile(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """A member's bio: its Markdown source and the sanitized HTML rendered once, at write
    time. A member who never wrote one has no row."""

    __tablename__ = "member_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    bio_source: Mapped[str] = mapped_column(Text, default="")
    bio_html: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


def set_bio(user: User, source: str) -> None:
    """Save `user`'s bio (at most BIO_MAX characters of Markdown; empty removes it).
    Commits."""
    source = (source or "").strip()[:BIO_MAX]
    profile = db.session.get(MemberProfile, user.id)
    if not source:
        if profile is not None:
            db.session.delete(profile)
    else:
        if profile is None:
            profile = MemberProfile(user_id=user.id)
            db.session.add(profile)
        profile.bio_source, profile.bio_html, profile.updated_at = source, render(source), now()
    db.session.commit()


def bio_of(user: User) -> MemberProfile | None:
    return db.session.get(MemberProfile, user.id)


# Avatars ----------------------------------------------------------------------------------

def initials(name: str) -> str:
    """One letter per word, two at most: « Marie Curie » is MC, « alice » is A."""
    words = re.findall(r"[^\W_]+", name or "")
    return "".join(word[0] for word in words[:2]).upper() or "?"


def colour(name: str) -> str:
    """A hue of the member's own, dark enough for white letters (contrast above 4.5:1)."""
    hue = int(hashlib.sha256((name or "").casefold().encode()).hexdigest()[:8], 16) % 360
    return f"hsl({hue}, 55%, 28%)"


def avatar(user: User | None, size: int = 40, decorative: bool = False) -> Markup:
    """The member's avatar as inline SVG. `decorative` when their name is written next to it
    (screen readers then skip it); else it is an image named for them."""
    name = user.name if user is not None else ""
    return _avatar(name, int(size), None if decorative else _("Avatar of %(name)s", name=name))


@lru_cache(maxsize=1024)
def _avatar(name: str, size: int, label_text: str | None) -> Markup:
    # Drawn once per name, size and label: a thread page shows the same few members again
    # and again. No label: decorative.
    label = (Markup('aria-hidden="true"') if label_text is None else Markup(
        'role="img" aria-label="{}"').format(label_text))
    return Markup(
        '<svg class="avatar" width="{size}" height="{size}" viewBox="0 0 40 40" {label}>'
        '<circle cx="20" cy="20" r="20" fill="{fill}"/>'
        '<text x="20" y="20" dy=".35em" text-anchor="middle" fill="#fff" font-size="16" '
        'font-weight="700" font-family="system-ui, sans-serif">{letters}</text></svg>'
    ).format(size=size, label=label, fill=colour(name), letters=initials(name))
