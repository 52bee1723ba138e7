"""Mailing lists, their subscribers, allowed senders and messages.

The lists' addresses are built from LISTS_DOMAIN at run time (`informations@<domain>`, List-Id
`<informations.<domain>>`), so the rows hold no host name.
"""

from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board.clock import now
from board.extensions import db
from board.types import UTCDateTime

PENDING, ACTIVE, UNSUBSCRIBED = "pending", "active", "unsubscribed"
SUBSCRIPTION_STATES = (PENDING, ACTIVE, UNSUBSCRIBED)
HELD, APPROVED, REJECTED, SENT = "held", "approved", "rejected", "sent"
MESSAGE_STATES = (HELD, APPROVED, REJECTED, SENT)


class MailingList(db.Model):
    __tablename__ = "mailing_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    senders: Mapped[list["AllowedSender"]] = relationship(
        order_by="AllowedSender.email", cascade="all, delete-orphan", back_populates="list")


class AllowedSender(db.Model):
    """An address allowed to post to a list by mail (still held for approval)."""

    __tablename__ = "list_senders"
    __table_args__ = (UniqueConstraint("list_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))

    list: Mapped[MailingList] = relationship(back_populates="senders")


class DoubleOptIn:
    """The columns of a subscription confirmed by a mailed link (a list's here, Travaux's):
    its state and language, the secret of its mails' links, the single-use confirmation."""

    status: Mapped[str] = mapped_column(String(14), default="pending")
    locale: Mapped[str | None] = mapped_column(String(8))
    # Per-recipient secret behind the unsubscribe links of every message it receives.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the pending confirmation link's secret: single use, cleared once used.
    confirm_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirm_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Subscription(DoubleOptIn, db.Model):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("list_id", "email"),
                      Index("ix_subscriptions_active", "list_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    # A member's subscriptions follow their address when it changes.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    list: Mapped[MailingList] = relationship()


class ListMessage(db.Model):
    """A message to a list: held until an admin approves it, then sent to every subscriber."""

    __tablename__ = "list_messages"
    __table_args__ = (Index("ix_list_messages_archive", "list_id", "status", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(10), default="compose")  # compose, mail, travaux
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(120), default="")
    author_email: Mapped[str] = mapped_column(String(254), default="")
    # Mail only: the From: header as received. The envelope sender (author_email) is the one
    # checked against the allowed senders; a From: that differs is shown to the moderator.
    from_header: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(10), default="held")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(default=0)

    list: Mapped[MailingList] = relationship()

    @property
    def from_differs(self) -> bool:
        """Mail whose From: header names another address than its envelope sender."""
        if self.origin != "mail":
            return False
        return parseaddr(self.from_header)[1].lower() != self.author_email.lower()
