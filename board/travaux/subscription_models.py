"""Mail subscriptions to Travaux (all of it, chosen services, or one incident), and the
reminders already sent before each maintenance.

The Travaux mailing list (board/lists, slug "travaux") stays: its active subscribers count as
subscribers to all of Travaux (board/travaux/subscriptions.py reads them at each notice).
"""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.clock import now
from board.extensions import db
from board.lists.models import DoubleOptIn
from board.travaux.models import Incident, Service
from board.types import UTCDateTime, postgresql_options

PENDING, ACTIVE, UNSUBSCRIBED, ENDED = "pending", "active", "unsubscribed", "ended"
# ENDED: an incident subscription after the mail that closed its incident.
STATES = (PENDING, ACTIVE, UNSUBSCRIBED, ENDED)

subscription_services = Table(
    "travaux_subscription_services",
    db.metadata,
    Column("subscription_id", ForeignKey("travaux_subscriptions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class TravauxSubscription(DoubleOptIn, db.Model):  # type: ignore[name-defined]  # db.Model
    """An address receiving Travaux mail: every operation (`all_services`), those naming one
    of `services`, or one incident's (`incident_id`) until it closes. One general row per
    address (partial unique index), one per address and incident."""

    __tablename__ = "travaux_subscriptions"
    __table_args__ = (
        postgresql_options(Index("ix_travaux_subscriptions_general", "email", unique=True,
                                 sqlite_where=text("incident_id IS NULL")),
                           where=text("incident_id IS NULL")),
        UniqueConstraint("email", "incident_id"),
        Index("ix_travaux_subscriptions_incident", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # A member's subscriptions follow their confirmed address when it changes.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    all_services: Mapped[bool] = mapped_column(default=False)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"))
    # (status, locale, token: the secret of the manage and unsubscribe links, confirmation)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    services: Mapped[list[Service]] = relationship(
        secondary=subscription_services, order_by=Service.position, lazy="selectin")
    incident: Mapped[Incident | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


class MaintenanceReminder(db.Model):  # type: ignore[name-defined]
    """A reminder sent before a maintenance's window: one per lead and planned start, so that
    a rescheduled maintenance is reminded again of its new start, and never twice of one."""

    __tablename__ = "maintenance_reminders"
    __table_args__ = (UniqueConstraint("incident_id", "lead_minutes", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    lead_minutes: Mapped[int] = mapped_column()
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
