"""Edit history: every edit keeps the text it replaces, with who wrote it and when, and who
replaced it; the revisions page shows each version and what changed from the one before.

Who may read a post's revisions is board/visibility.py's to say (`can_see_revisions`). The
differences are (kind, text) pieces that the template escapes and marks with <ins> and <del>:
no HTML is made here.
"""

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.forum.models import Post
from board.types import UTCDateTime


class Revision(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """A post's text as it was before one edit."""

    __tablename__ = "post_revisions"
    __table_args__ = (Index("ix_post_revisions_post", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    body_source: Mapped[str] = mapped_column(Text)
    # The thread's title then, for a thread's first post (None for a reply).
    title: Mapped[str | None] = mapped_column(String(150))
    # Who wrote this text, and when (the post's author at first, then each editor).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The edit that replaced it.
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    editor: Mapped[User | None] = relationship(foreign_keys=[editor_id])


def add_revision(post: Post, editor: User, body: str, title: str | None = None) -> Revision | None:
    """Keep `post`'s text before `editor` replaces it with `body` (and, for a first post, the
    thread's title with `title`), in the caller's transaction. Nothing is kept when the edit
    changes nothing."""
    is_first = post.id == post.thread.first_post_id
    old_title = post.thread.title if is_first else None
    if body == post.body_source and (not title or title.strip() == old_title):
        return None
    revision = Revision(post_id=post.id, body_source=post.body_source, title=old_title,
                        author_id=post.edited_by_id or post.author_id,
                        written_at=post.edited_at or post.created_at, editor_id=editor.id)
    db.session.add(revision)
    return revision


# The revisions page ------------------------------------------------------------------------

@dataclass
class Version:
    """One version of a post, and what changed from the one before it."""

    number: int
    body: str
    title: str | None
    author: User | None
    written_at: datetime
    changes: list[tuple[str, str]] = field(default_factory=list)
    title_before: str | None = None


def history(post: Post) -> tuple[list[Version], bool]:
    """`post`'s versions, newest first, each with its changes from the one before; and whether
    the oldest is the original (edits made before history was kept left no trace). 1 query."""
    revisions = db.session.scalars(
        select(Revision).where(Revision.post_id == post.id).order_by(Revision.id)
        .options(joinedload(Revision.author), joinedload(Revision.editor))).all()
    versions = [Version(i + 1, r.body_source, r.title, r.author, r.written_at)
                for i, r in enumerate(revisions)]
    is_first = post.id == post.thread.first_post_id
    versions.append(Version(len(versions) + 1, post.body_source,
                            post.thread.title if is_first else None,
                            (post.edited_by or post.author) if post.edited_at else post.author,
                            post.edited_at or post.created_at))
    for before, after in zip(versions, versions[1:], strict=False):
        after.changes = changes(before.body, after.body)
        if before.title is not None and before.title != after.title:
            after.title_before = before.title
    complete = versions[0].written_at == post.created_at
    return versions[::-1], complete


# Words, runs of spaces and single signs: a changed word is marked, not its whole line.
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")
# Past this many characters on both sides, a changed block is shown as its lines removed and
# added: comparing word by word costs the product of the two lengths.
_WORDS_MAX = 4000


def changes(old: str, new: str) -> list[tuple[str, str]]:
    """What turns `old` into `new`, as ("same" | "added" | "removed", text) pieces: by lines,
    then by words within the lines that changed."""
    pieces: list[tuple[str, str]] = []
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if op == "equal":
            pieces.append(("same", before))
        elif op == "replace" and len(before) + len(after) <= _WORDS_MAX:
            pieces.extend(_word_changes(before, after))
        else:
            pieces.extend(p for p in (("removed", before), ("added", after)) if p[1])
    return _merged(pieces)


def _word_changes(old: str, new: str) -> list[tuple[str, str]]:
    """Word by word; a lone space between two changes joins them ("une heure" became "deux
    heures", rather than two changes)."""
    old_words, new_words = _TOKENS.findall(old), _TOKENS.findall(new)
    opcodes = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False).get_opcodes()
    pieces: list[tuple[str, str]] = []
    removed = added = ""
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        before, after = "".join(old_words[i1:i2]), "".join(new_words[j1:j2])
        if op == "equal" and not (before.isspace() and 0 < index < len(opcodes) - 1):
            pieces.extend(p for p in (("removed", removed), ("added", added)) if p[1])
            removed = added = ""
            pieces.append(("same", before))
        else:
            removed, added = removed + before, added + after
    pieces.extend(p for p in (("removed", removed), ("added", added)) if p[1])
    return pieces


def _merged(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Neighbours of one kind joined: fewer marks to read."""
    merged: list[tuple[str, str]] = []
    for kind, text in pieces:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged
