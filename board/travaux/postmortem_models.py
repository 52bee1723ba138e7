"""Postmortems of resolved incidents with their action items, and the answers of the members
affected to "Is it fixed for you?" (board/travaux/postmortems.py, board/travaux/fixed.py)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.travaux.models import Incident
from board.types import UTCDateTime

PLANNED, IN_PROGRESS, DONE = "planned", "in_progress", "done"
ACTION_STATUSES = (PLANNED, IN_PROGRESS, DONE)


class Postmortem(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """One per incident: a draft saved as the admin types, then published once (its text is
    frozen from then on; its action items keep moving)."""

    __tablename__ = "postmortems"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    incident: Mapped[Incident] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    actions: Mapped[list["ActionItem"]] = relationship(
        order_by="ActionItem.id", cascade="all, delete-orphan", back_populates="postmortem")

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ActionItem(db.Model):  # type: ignore[name-defined]
    """What changes after the incident: its text, where it stands, and every change's date."""

    __tablename__ = "postmortem_actions"
    __table_args__ = (Index("ix_postmortem_actions_postmortem", "postmortem_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortems.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default=PLANNED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    postmortem: Mapped[Postmortem] = relationship(back_populates="actions")
    changes: Mapped[list["ActionChange"]] = relationship(
        order_by="ActionChange.id", cascade="all, delete-orphan", lazy="selectin")


class ActionChange(db.Model):  # type: ignore[name-defined]
    """An action item's status at a date: its history, shown beside it."""

    __tablename__ = "postmortem_action_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("postmortem_actions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class PostmortemOptOut(db.Model):  # type: ignore[name-defined]
    """A member who asked not to be mailed postmortems (their account page)."""

    __tablename__ = "postmortem_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class FixedAnswer(db.Model):  # type: ignore[name-defined]
    """A member's answer to "Is it fixed for you?" about a resolved incident: one per member
    and incident, changed at will; `answered_at` is its last change."""

    __tablename__ = "fixed_answers"
    __table_args__ = (Index("ix_fixed_answers_recent", "incident_id", "fixed", "answered_at"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    fixed: Mapped[bool]
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class FixedAlert(db.Model):  # type: ignore[name-defined]
    """Staff told that many say it is not fixed: once per incident; dismissed, or done with
    when the incident is reopened."""

    __tablename__ = "fixed_alerts"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"),
                                             primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    no_count: Mapped[int] = mapped_column(default=0)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    incident: Mapped[Incident] = relationship()
