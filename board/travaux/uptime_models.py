"""Uptime per service and day, as the worker stores it, and the community's track beside it.

Days are local days in the site's zone (BABEL_DEFAULT_TIMEZONE, Europe/Paris): 23, 24 or 25
hours long. Rows exist only for days on which something happened, so a page reads a few
rows per service whatever the length of history (board/travaux/uptime.py writes them).
"""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from board.clock import now
from board.extensions import db
from board.types import UTCDateTime


class UptimeDay(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """One service's official day: minutes in each bad state, maintenance apart, and the
    operations that touched it ({"id", "kind", "title", "impact"} each)."""

    __tablename__ = "uptime_days"
    __table_args__ = (Index("ix_uptime_days_day", "day", "service_id"),)

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    degraded_minutes: Mapped[int] = mapped_column(default=0)
    partial_minutes: Mapped[int] = mapped_column(default=0)
    major_minutes: Mapped[int] = mapped_column(default=0)
    maintenance_minutes: Mapped[int] = mapped_column(default=0)
    operations: Mapped[list] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class CommunityDay(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """What members said about one service on one day: reports opened (threads naming the
    service) and "affected" marks on them. Staff may hide a day that was no real problem
    (`hidden_reason` says why; the audit log says who)."""

    __tablename__ = "community_days"
    __table_args__ = (Index("ix_community_days_day", "day", "service_id"),)

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reports: Mapped[int] = mapped_column(default=0)
    affected: Mapped[int] = mapped_column(default=0)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(String(300))


class UptimeBacklog(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    """Days to count again, written with the change that moved them (an update, a
    reschedule, a thread hidden); the worker's task takes them at its next round."""

    __tablename__ = "uptime_backlog"

    id: Mapped[int] = mapped_column(primary_key=True)
    track: Mapped[str] = mapped_column(String(10))  # "official" or "community"
    first: Mapped[date] = mapped_column(Date)
    last: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
