"""Account operations: registration, confirmation, login, password and email changes, API
tokens. Public functions that end a unit of work commit and say so; `add_user` works in the
caller's transaction."""

import hashlib
import hmac
import secrets

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from board.accounts.models import ApiToken, User
from board.audit import record
from board.clock import now
from board.extensions import db
from board.lists.services import all_lists, follow_email_change, subscribe
from board.outbox.services import queue_mail
from board.urls import absolute

# A real hash of nothing, so a login for an unknown email costs as much as a real one.
_DUMMY_HASH = None


class AccountError(ValueError):
    """A request that cannot be honoured; its message is shown to the user."""


def normalize_email(email: str) -> str:
    """Addresses are stored and compared lower-cased, without surrounding spaces."""
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    """The user with this address, whatever its case."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def name_taken(name: str, except_user: User | None = None) -> bool:
    """Whether another user already has this display name."""
    stmt = select(User.id).where(func.lower(User.name) == name.strip().lower())
    if except_user is not None:
        stmt = stmt.where(User.id != except_user.id)
    return db.session.scalar(stmt) is not None


def hash_password(password: str) -> str:
    """The password's hash, with the configured method (scrypt)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def add_user(email: str, name: str, password: str, role: str = "member",
             confirmed: bool = False, locale: str | None = None) -> User:
    """Add a user in the caller's transaction."""
    user = User(email=normalize_email(email), name=name.strip(), role=role, locale=locale,
                password_hash=hash_password(password), confirmed_at=now() if confirmed else None)
    db.session.add(user)
    db.session.flush()
    return user


def register(email: str, name: str, password: str, locale: str | None,
             lists: list[str] = ()) -> User | None:
    """Open an account and queue its confirmation mail, and those of the mailing lists ticked.
    When the email is already registered, the owner is told by mail instead, and None is
    returned: the page says the same either way. Commits."""
    user = _open_account(email, name, password, locale)
    chosen = [m for m in all_lists() if m.slug in lists]
    if chosen:
        subscribe(email, chosen, locale, user=user)
    return user


def _open_account(email: str, name: str, password: str, locale: str | None) -> User | None:
    existing = find_by_email(email)
    if existing is not None:
        hash_password(password)  # the same cost as a new account: timing reveals nothing
        queue_mail(existing.email, "already_registered", existing.locale, user=existing,
                   login_url=absolute(url_for("accounts.login")),
                   reset_url=absolute(url_for("accounts.reset_request")))
        db.session.commit()
        return None
    user = add_user(email, name, password, locale=locale)
    _send_confirmation(user)
    db.session.commit()
    return user


# Signed tokens ----------------------------------------------------------------------------

class _ClockSigner(TimestampSigner):
    """Signs with the application's clock, so that tests can move past an expiry."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"board.{purpose}",
                                  signer=_ClockSigner)


def make_token(purpose: str, *values) -> str:
    """A signed, timestamped token carrying `values`, valid for one `purpose` only."""
    return _serializer(purpose).dumps(list(values))


def read_token(purpose: str, token: str, max_age: int) -> list:
    """The values signed in `token`; AccountError when it is forged, expired or malformed."""
    try:
        values = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise AccountError("expired") from error
    except BadSignature as error:
        raise AccountError("invalid") from error
    if not isinstance(values, list):
        raise AccountError("invalid")
    return values


def _send_confirmation(user: User) -> None:
    token = make_token("confirm", user.id, user.email, user.session_version)
    queue_mail(user.email, "confirm", user.locale, user=user,
               url=absolute(url_for("accounts.confirm", token=token)))


def resend_confirmation(user: User) -> None:
    """Mail a fresh confirmation link to an account not confirmed yet. Commits."""
    if user.confirmed_at is None:
        _send_confirmation(user)
    db.session.commit()


def confirm_email(token: str) -> User:
    """Mark the address in `token` as confirmed. AccountError when the link is not valid.
    Commits."""
    values = read_token("confirm", token, current_app.config["CONFIRM_MAX_AGE"])
    if len(values) != 3:
        raise AccountError("invalid")
    user_id, email, version = values
    user = db.session.get(User, user_id)
    # Single use: once confirmed, or once the password changed, the link is dead.
    if (user is None or user.email != email or user.session_version != version
            or user.confirmed_at is not None):
        raise AccountError("invalid")
    user.confirmed_at = now()
    db.session.commit()
    return user


# Login and passwords -----------------------------------------------------------------------

def load_user(key: str) -> User | None:
    """Flask-Login's user loader: the active user of a session key "<id>:<session_version>";
    a key from before a credential change names an old version and loads nobody."""
    user_id, _sep, version = key.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or str(user.session_version) != version or not user.is_active:
        return None
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same cost either way)."""
    global _DUMMY_HASH
    user = find_by_email(email)
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not a password")
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def request_password_reset(email: str) -> None:
    """Queue a reset link when the address is registered; do nothing visible otherwise.
    Commits."""
    user = find_by_email(email)
    if user is None or not user.is_active:
        return
    token = make_token("reset", user.id, user.session_version)
    queue_mail(user.email, "reset", user.locale, user=user,
               url=absolute(url_for("accounts.reset", token=token)))
    db.session.commit()


def user_for_reset(token: str) -> User:
    """The user a reset link belongs to; a used link (password changed since) is invalid."""
    user_id, version = read_token("reset", token, current_app.config["RESET_MAX_AGE"])
    user = db.session.get(User, user_id)
    if user is None or not hmac.compare_digest(str(user.session_version), str(version)):
        raise AccountError("invalid")
    return user


def set_password(user: User, password: str) -> None:
    """Change the password and end every other session of the user. Commits."""
    user.password_hash = hash_password(password)
    user.session_version += 1
    # Following a link from the mailbox proves the address too.
    if user.confirmed_at is None:
        user.confirmed_at = now()
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Change the password when `current` is right (AccountError otherwise). Commits."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError("wrong-password")
    set_password(user, new)


# Profile and email -------------------------------------------------------------------------

def update_profile(user: User, name: str, locale: str | None) -> None:
    """Change the display name (unique) and the preferred language. Commits."""
    if name_taken(name, except_user=user):
        raise AccountError("name-taken")
    user.name = name.strip()
    user.locale = locale or None
    db.session.commit()


def request_email_change(user: User, new_email: str, password: str) -> None:
    """Mail a confirmation link to the new address; the change happens when it is followed.
    Commits."""
    if not check_password_hash(user.password_hash, password):
        raise AccountError("wrong-password")
    new_email = normalize_email(new_email)
    if find_by_email(new_email) is None:
        token = make_token("email", user.id, new_email, user.session_version)
        queue_mail(new_email, "change_email", user.locale, user=user, new_email=new_email,
                   url=absolute(url_for("accounts.confirm_email_change", token=token)))
    # Tell the current address too, so that a hijacked session cannot take the account quietly.
    queue_mail(user.email, "email_change_requested", user.locale, user=user, new_email=new_email)
    db.session.commit()


def confirm_email_change(token: str) -> User:
    """Follow an email-change link: the account takes the new address, and its list
    subscriptions follow. Commits."""
    user_id, new_email, version = read_token("email", token, current_app.config["CONFIRM_MAX_AGE"])
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version:
        raise AccountError("invalid")
    if find_by_email(new_email) is not None:
        raise AccountError("email-taken")
    old_email, user.email = user.email, new_email
    user.confirmed_at = now()
    follow_email_change(user, old_email)
    db.session.commit()
    return user


def set_locale(user: User, locale: str) -> None:
    """Remember the language the member chose from the language switch. Commits."""
    user.locale = locale
    db.session.commit()


# Administration ----------------------------------------------------------------------------

def set_role(user: User, role: str, actor: User) -> None:
    """Give `user` another role. Admins cannot change their own, so one always remains.
    Commits."""
    if user.id == actor.id:
        raise AccountError("self")
    if user.role != role:
        record(actor, "user.role", "user", user.id, before=user.role, after=role)
        user.role = role
    db.session.commit()


def update_user(user: User, role: str, disabled: bool, actor: User) -> None:
    """An admin's change to a member: role and access. Commits."""
    set_role(user, role, actor)
    set_disabled(user, disabled, actor)


def set_disabled(user: User, disabled: bool, actor: User) -> None:
    """Disable an account (its sessions end at once) or enable it again. Commits."""
    if user.id == actor.id:
        raise AccountError("self")
    if disabled and user.disabled_at is None:
        user.disabled_at = now()
        user.session_version += 1
        record(actor, "user.disable", "user", user.id)
    elif not disabled and user.disabled_at is not None:
        user.disabled_at = None
        record(actor, "user.enable", "user", user.id)
    db.session.commit()


# API tokens --------------------------------------------------------------------------------

def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user: User, name: str = "") -> str:
    """Make a bearer token for `user`; the raw value is returned once and never stored.
    Commits."""
    raw = "brd_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(raw), name=name))
    record(None, "token.create", "user", user.id, name=name)
    db.session.commit()
    return raw


def revoke_tokens(user: User) -> int:
    """Revoke every live API token of `user`; returns how many. Commits."""
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                       ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = now()
    record(None, "token.revoke", "user", user.id, count=len(tokens))
    db.session.commit()
    return len(tokens)


def user_for_token(raw: str) -> User | None:
    """The active user a live token belongs to, or None."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw),
                                                     ApiToken.revoked_at.is_(None)))
    if token is None or not token.user.is_active:
        return None
    token.last_used_at = now()
    return token.user
