"""What Travaux sends out by itself: webhook endpoints and their delivery log, the social
relay's settings and the statuses it posted (board/travaux/webhooks.py, relay.py)."""

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.clock import now
from board.extensions import db
from board.travaux.models import Service
from board.types import UTCDateTime

webhook_services = Table(
    "webhook_services",
    db.metadata,
    Column("endpoint_id", ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
           primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class WebhookEndpoint(db.Model):
    """An address that receives signed JSON events (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    # "whsec_" + base64: the receiver holds the same; never shown again after it is made.
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    # May receive what only staff see (report.spike, staff-only threads' addresses).
    staff_only: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    # None chosen means every service.
    services: Mapped[list[Service]] = relationship(
        secondary=webhook_services, order_by=Service.position, lazy="selectin")

    @property
    def masked_secret(self) -> str:
        """Enough of the secret to tell two apart, never enough to sign."""
        return f"whsec_…{self.secret[-4:]}"


class WebhookDelivery(db.Model):
    """One attempt to deliver one event to one endpoint: the endpoint's delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint", "endpoint_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(60))
    event_type: Mapped[str] = mapped_column(String(40))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    status_code: Mapped[int | None]
    duration_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class RelaySettings(db.Model):
    """The Mastodon-compatible account Travaux posts to (one row; MASTODON_URL and
    MASTODON_TOKEN, when set, take precedence)."""

    __tablename__ = "relay_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_url: Mapped[str] = mapped_column(String(300), default="")
    access_token: Mapped[str] = mapped_column(String(300), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class RelayedStatus(db.Model):
    """One status queued for an incident: the first opens its thread of statuses, each next
    one answers the one before (in_reply_to_id = the id the server gave it)."""

    __tablename__ = "relayed_statuses"
    __table_args__ = (Index("ix_relayed_statuses_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    # The Idempotency-Key of its request: the same at every retry.
    key: Mapped[str] = mapped_column(String(60), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("relayed_statuses.id", ondelete="SET NULL"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    # What the server answered, once posted.
    status_id: Mapped[str | None] = mapped_column(String(64))
    status_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    parent: Mapped["RelayedStatus | None"] = relationship(remote_side=[id])
