"""Services, incidents and maintenance, and their updates.

A service's status is never stored: it is derived from the open incidents and the running
maintenance that affect it (see `services.service_statuses`).
"""

from datetime import datetime

from sqlalchemy import Column, Float, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.forum.models import Thread
from board.types import UTCDateTime, postgresql_options

INCIDENT, MAINTENANCE = "incident", "maintenance"
KINDS = (INCIDENT, MAINTENANCE)
IMPACTS = ("none", "minor", "major", "critical")
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "completed", "cancelled")
CLOSED = ("resolved", "completed", "cancelled")

incident_services = Table(
    "incident_services",
    db.metadata,
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Service(db.Model):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    # The old Travaux's project number, so that feed.php?project=<n> finds this service's feed.
    legacy_id: Mapped[int | None] = mapped_column(unique=True)


class Incident(db.Model):
    __tablename__ = "incidents"
    # The feed's order (newest first) has its index, as the forum's feeds do.
    __table_args__ = (Index("ix_incidents_open", "resolved_at", "kind"),
                      Index("ix_incidents_created", "created_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default=INCIDENT)
    title: Mapped[str] = mapped_column(String(150))
    impact: Mapped[str] = mapped_column(String(10), default="minor")
    status: Mapped[str] = mapped_column(String(16))
    # A maintenance follows its window by itself until an admin posts another status.
    status_manual: Mapped[bool] = mapped_column(default=False)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Grows at each reschedule and at a cancellation: calendars give it as SEQUENCE, so that
    # a calendar application replaces the event it already holds.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # Moves with every update: feeds and caches key on it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source_thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"))
    last_update_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident_updates.id", use_alter=True, ondelete="SET NULL"))

    services: Mapped[list[Service]] = relationship(
        secondary=incident_services, order_by=Service.position, lazy="selectin")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    source_thread: Mapped[Thread | None] = relationship(foreign_keys=[source_thread_id])
    last_update: Mapped["IncidentUpdate | None"] = relationship(
        foreign_keys=[last_update_id], post_update=True)
    threads: Mapped[list[Thread]] = relationship(
        primaryjoin="Thread.incident_id == Incident.id", foreign_keys="Thread.incident_id",
        order_by="Thread.created_at", viewonly=True)

    @property
    def is_maintenance(self) -> bool:
        return self.kind == MAINTENANCE

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    @property
    def statuses(self) -> tuple[str, ...]:
        return MAINTENANCE_STATUSES if self.is_maintenance else INCIDENT_STATUSES

    @property
    def duration(self):
        """How long it lasted (or has lasted so far)."""
        start = self.window_start if self.is_maintenance and self.window_start else self.created_at
        return (self.resolved_at or now()) - start


class IncidentUpdate(db.Model):
    __tablename__ = "incident_updates"
    __table_args__ = (Index("ix_incident_updates_incident", "incident_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Plain-text preview (board.markup.excerpt): the banner, the embed and the pages show it.
    excerpt: Mapped[str] = mapped_column(Text, default="", server_default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    incident: Mapped[Incident] = relationship(foreign_keys=[incident_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])


class SuspectedIncident(db.Model):
    """A burst of reports on one service that nobody has declared yet: shown to staff on the
    reports page, mailed once to the admins who asked, never shown to the public
    (board/travaux/spikes.py). One open at a time per service."""

    __tablename__ = "suspected_incidents"
    __table_args__ = (postgresql_options(
        Index("ix_suspected_incidents_open", "service_id", unique=True,
              sqlite_where=text("closed_at IS NULL")), where=text("closed_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    # The first report of the burst, when it was seen, the latest report or "me too".
    first_report_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    last_signal_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Reports and "me too" in the window when it was last looked at, the most seen, and the
    # service's usual number in such a window at that hour (the last four weeks).
    signals: Mapped[int] = mapped_column(default=0)
    peak: Mapped[int] = mapped_column(default=0)
    baseline: Mapped[float] = mapped_column(Float, default=0.0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it closed: "promoted", "dismissed", or "quiet" (no report for a while).
    outcome: Mapped[str | None] = mapped_column(String(12))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"))

    service: Mapped[Service] = relationship()

