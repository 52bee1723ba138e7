"""Users and their API tokens. (The audit log of staff actions is in board/audit.py.)"""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from board.accounts.names import name_key
from board.clock import now
from board.extensions import db
from board.permissions import RANK, role_at_least
from board.types import UTCDateTime

ROLES = tuple(RANK)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique index compares case-insensitively.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    # The name as it looks (board/accounts/names.py): lookalike names share one key. Kept
    # by the `name` validator below, and computed for inserts that do not give it.
    name_key: Mapped[str] = mapped_column(String(255), unique=True, default=lambda context:
                                          name_key(context.get_current_parameters()["name"]))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    locale: Mapped[str | None] = mapped_column(String(8))
    # An admin who asked to be mailed when a burst of reports looks like an incident.
    spike_alerts: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the member last used the site, to a few minutes (staff read it on the profile).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Changing the email or the password bumps it, so the links mailed before die with it.
    session_version: Mapped[int] = mapped_column(default=1)
    # The login this object was loaded through (never stored): see UserSession.
    session_key = None

    @property
    def is_staff(self) -> bool:
        return role_at_least(self.role, "moderator")

    @property
    def is_admin(self) -> bool:
        return role_at_least(self.role, "admin")

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key(name)
        return name

    def get_id(self) -> str:
        # What Flask-Login keeps in the session cookie and in the remember-me cookie: the
        # login, not only the account, so that ending the login kills both copies.
        return f"{self.id}:{self.session_key}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.name!r} {self.role}>"


class UserSession(db.Model):
    """One login (a browser): its random key lives in the session and remember-me cookies,
    only its SHA-256 here. Deleting the row ends that login wherever its cookies were copied."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(db.Model):
    """A bearer token for machines (monitoring). Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")
