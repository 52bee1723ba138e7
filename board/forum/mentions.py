"""Mentions and quotes in posts: "@Name" becomes a link to the member's profile, a quote
links to the post it comes from, and both tell the member concerned.

The syntax of a mention is "@" followed by a display name as it is written, spaces included:
"@Jean Dupont". The longest known name wins ("@Jean Dupont merci" names Jean Dupont when
there is one, else Jean), letter case does not matter, and a name must end where a word ends
("@Jeanne" never names Jean). Mentions in code and inside quotes link or not as Markdown
decides, but only the author's own words (outside quotes) tell anyone.
"""

import re

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from board.accounts.models import User
from board.extensions import db
from board.forum.models import Post
from board.forum.notifications import notify
from board.markup import escape_md, render_mentions
from board.visibility import can_see_post

# An "@" that starts a word; what follows it, to the end of the line, may hold a name.
_AT = re.compile(r"(?<![\w@.])@(?=([^\n]{1,40}))")
# Mentions looked up, and members told, per post at most (a list of every member is spam).
MAX_MENTIONS = 20
# A quote's first line links to its source: "> [Jean wrote](/posts/12):".
# Quotes inside a quote are the quoted author's, not this post's: only first-level ones count.
_QUOTED = re.compile(
    r"^[ \t]{0,3}>[ \t]?\[[^\n]*?\]\((?:https?://[^/\s)]+)?/posts/(\d{1,10})\)", re.M)
MAX_QUOTED = 10


def _candidates(text: str) -> set[str]:
    """Every start of `text` that ends where a word ends: the names it may begin with."""
    return {text[:end].casefold() for end in range(1, len(text) + 1)
            if end == len(text) or not (text[end].isalnum() or text[end] == "_")}


def render_post(source: str) -> tuple[str, list[User]]:
    """A post's HTML, its mentions made links to profiles (one query when the text holds an
    "@", none otherwise), and the members it mentions outside quotes, each once."""
    from board.forum.members import profile_path  # it builds on the services, which use this

    starts = [m.group(1) for m in _AT.finditer(source)][:MAX_MENTIONS]
    if not starts:
        return render_mentions(source, None)[0], []
    wanted = set().union(*(_candidates(s) for s in starts))
    # lower() in SQL folds ASCII only on SQLite: accents are compared in Python below.
    found = db.session.scalars(select(User).where(
        User.disabled_at.is_(None),
        or_(func.lower(User.name).in_(wanted), User.name.in_(
            {s[:end] for s in starts for end in range(1, len(s) + 1)})))).all()
    by_name = {user.name.casefold(): user for user in found}
    by_path = {profile_path(user): user for user in found}

    def find(text: str) -> tuple[int, str] | None:
        for name in sorted(_candidates(text) & by_name.keys(), key=len, reverse=True):
            return len(name), profile_path(by_name[name])
        return None

    body_html, paths = render_mentions(source, find)
    return body_html, list({path: by_path[path] for path in paths}.values())


def rendered(source: str) -> str:
    """A text's HTML as a post would show it, mentions linked: what a preview shows."""
    return render_post(source)[0]


def quoted_posts(source: str, reader) -> list[Post]:
    """The posts a text quotes (by the link of each quote's first line) that `reader` may
    see, each once."""
    ids = list(dict.fromkeys(int(n) for n in _QUOTED.findall(source)))[:MAX_QUOTED]
    if not ids:
        return []
    posts = db.session.scalars(select(Post).where(Post.id.in_(ids))).all()
    return [post for post in posts if can_see_post(reader, post)]


def tell(post: Post, actor, mentioned: list[User]) -> None:
    """Tell the members a post mentions, and the authors of the posts it quotes (in the
    caller's transaction). Each is told once per post, and of one thing: an edit that keeps a
    mention or a quote tells nobody again, and a member both quoted and named hears of the
    mention."""
    for user in mentioned:
        notify(user, "mention", actor=actor, post=post)
    named = {user.id for user in mentioned}  # quoted and named: the mention says it all
    for quoted in quoted_posts(post.body_source, actor):
        if quoted.author_id not in named:
            notify(quoted.author, "quote", actor=actor, post=post)


def quote_source(post: Post) -> str:
    """A Markdown quote of `post` for a reply: its author and a link to it, then its text,
    each line behind "> ". In the writer's language, as the quote of a selection (notify.js)."""
    head = _("[%(name)s wrote](%(url)s):", name=escape_md(post.author.name),
             url=url_for("forum.post", post_id=post.id))
    lines = [head, ""] + post.body_source.strip().splitlines()
    return "\n".join(f"> {line}".rstrip() for line in lines) + "\n\n"
