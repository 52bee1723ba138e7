"""Account operations: registration, confirmation, login, password and email changes, audit."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from blinker import Namespace
from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from board.accounts.models import ApiToken, User, UserSession
from board.accounts.names import is_mixed_script, name_key
from board.audit import record
from board.clock import now
from board.extensions import db
from board.lists.services import all_lists, follow_email_change, subscribe
from board.outbox.services import queue, queue_mail
from board.urls import absolute

# Sent with (user, old_email=...) when a member's new address is confirmed, in that
# transaction: the domains to the right of accounts (Travaux subscriptions) follow it too.
email_changed = Namespace().signal("email-changed")

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
    """True when another account's name looks like `name` (case, width, lookalike letters)."""
    stmt = select(User.id).where(User.name_key == name_key(name))
    if except_user is not None:
        stmt = stmt.where(User.id != except_user.id)
    return db.session.scalar(stmt) is not None


def name_problem(name: str, except_user: User | None = None) -> str | None:
    """Why `name` cannot be a display name ("mixed-script", "name-taken"), or None."""
    if is_mixed_script(name):
        return "mixed-script"
    if len(name_key(name)) > 255 or name_taken(name, except_user):
        return "name-taken"
    return None


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
    returned: the page says the same either way."""
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


def _state(user: User) -> str:
    """A digest of what a mailed link may act on: the address, the password, the version and
    whether the address is confirmed. Using a link changes one of them, and so does any
    change of email or password: every link mailed before dies."""
    state = f"{user.id}|{user.email}|{user.password_hash}|{user.session_version}|" \
            f"{user.is_confirmed}"
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, state.encode(), hashlib.sha256).hexdigest()[:32]


def _user_for_link(purpose: str, token: str, max_age: int) -> tuple[User, str]:
    """The user a mailed link was made for, and the address it carries; AccountError when
    the link is forged, expired, or made for a state of the account that has changed."""
    values = read_token(purpose, token, max_age)
    if len(values) != 3 or not isinstance(values[0], int):
        raise AccountError("invalid")
    user_id, address, state = values
    user = db.session.get(User, user_id)
    if user is None or not hmac.compare_digest(str(state), _state(user)):
        raise AccountError("invalid")
    return user, address


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
    """Queue a confirmation link for the user's address, in the caller's transaction."""
    token = make_token("confirm", user.id, user.email, _state(user))
    queue_mail(user.email, "confirm", user.locale, user=user,
               url=absolute(url_for("accounts.confirm", token=token)))


def resend_confirmation(user: User) -> None:
    """Mail a fresh confirmation link to an account not confirmed yet. Commits."""
    if user.confirmed_at is None:
        _send_confirmation(user)
    db.session.commit()


def confirm_email(token: str) -> User:
    """Mark the address in `token` as confirmed. Commits. AccountError when the link is
    not valid: used already, or the address or password changed since it was sent."""
    user, email = _user_for_link("confirm", token, current_app.config["CONFIRM_MAX_AGE"])
    if user.email != email or user.is_confirmed:
        raise AccountError("invalid")
    user.confirmed_at = now()
    db.session.commit()
    return user


# Login and passwords -----------------------------------------------------------------------

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
    """Queue a reset request. Commits. The same work whether the address is registered or
    not (the answer's timing tells nothing): the worker looks it up and writes the mail."""
    queue("password_reset", {"email": normalize_email(email)})
    db.session.commit()


def send_password_reset(payload: dict) -> None:
    """The worker's half of a reset request (outbox kind `password_reset`, in the worker's
    transaction): the link goes to a registered, active address."""
    user = find_by_email(payload["email"])
    if user is None or not user.is_active:
        return
    token = make_token("reset", user.id, user.email, _state(user))
    queue_mail(user.email, "reset", user.locale, user=user,
               url=absolute(url_for("accounts.reset", token=token)))


def user_for_reset(token: str) -> User:
    """The user a reset link belongs to; AccountError once used, or once the address or the
    password changed since it was sent."""
    user, email = _user_for_link("reset", token, current_app.config["RESET_MAX_AGE"])
    if user.email != email or not user.is_active:
        raise AccountError("invalid")
    return user


def set_password(user: User, password: str, keep: str | None = None) -> None:
    """Change the password and end every login of the user but `keep` (a session key).
    Every link mailed before dies with the old password. Commits."""
    user.password_hash = hash_password(password)
    user.session_version += 1
    # Following a link from the mailbox proves the address too.
    if user.confirmed_at is None:
        user.confirmed_at = now()
    _end_sessions(user, keep=keep)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Change the password from the account page (commits); this login stays open."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError("wrong-password")
    set_password(user, new, keep=user.session_key)


# Logins ------------------------------------------------------------------------------------

def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(user: User) -> str:
    """Open a login for `user` (commits); its key is kept on the user for Flask-Login."""
    key = secrets.token_urlsafe(32)
    # Logins that ran out are of no use to anybody: they go when their owner logs in again.
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.expires_at <= now()))
    db.session.add(UserSession(user_id=user.id, key_hash=_key_hash(key),
                               expires_at=now() + current_app.config["REMEMBER_COOKIE_DURATION"]))
    user.last_seen_at = now()
    db.session.commit()
    user.session_key = key
    return key


def load_user(key: str) -> User | None:
    """Flask-Login's user loader: the user of a live login, from the session or the
    remember-me cookie ("<id>:<login key>")."""
    user_id, _sep, session_key = key.partition(":")
    return user_for_session(user_id, session_key)


def user_for_session(user_id: str, key: str) -> User | None:
    """The active user whose live login has this key, or None (ended, expired, forged)."""
    if not user_id.isdigit() or not key:
        return None
    login = db.session.scalar(select(UserSession).where(UserSession.key_hash == _key_hash(key)))
    if (login is None or login.user_id != int(user_id) or login.expires_at <= now()
            or not login.user.is_active):
        return None
    login.user.session_key = key
    return login.user


# A member's last visit is kept to this much: one write per member per few minutes at most,
# never one per request.
SEEN_EVERY = timedelta(minutes=5)


def note_seen(user: User) -> None:
    """Remember that `user` is using the site, when their last visit is older than
    SEEN_EVERY (commits then; does nothing otherwise)."""
    moment = now()
    if user.last_seen_at is not None and moment - user.last_seen_at < SEEN_EVERY:
        return
    db.session.execute(update(User).where(User.id == user.id).values(last_seen_at=moment))
    db.session.commit()


def end_session(user: User) -> None:
    """End the login `user` came through (logout). Commits."""
    if user.session_key:
        db.session.execute(delete(UserSession).where(
            UserSession.key_hash == _key_hash(user.session_key)))
    db.session.commit()


def end_all_sessions(user: User) -> None:
    """Log out everywhere: every login of `user`, this one included, ends (commits)."""
    _end_sessions(user)
    db.session.commit()


def _end_sessions(user: User, keep: str | None = None) -> None:
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        stmt = stmt.where(UserSession.key_hash != _key_hash(keep))
    db.session.execute(stmt)


# Profile and email -------------------------------------------------------------------------

def update_profile(user: User, name: str, locale: str | None) -> None:
    """Save the display name and language (commits); AccountError when the name is refused."""
    problem = name_problem(name, except_user=user)
    if problem:
        raise AccountError(problem)
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
        token = make_token("email", user.id, new_email, _state(user))
        queue_mail(new_email, "change_email", user.locale, user=user, new_email=new_email,
                   url=absolute(url_for("accounts.confirm_email_change", token=token)))
    # Tell the current address too, so that a hijacked session cannot take the account quietly.
    queue_mail(user.email, "email_change_requested", user.locale, user=user, new_email=new_email)
    db.session.commit()


def confirm_email_change(token: str, keep: str | None = None) -> User:
    """Move the account to the address in `token`. Commits. Every other login ends (`keep`
    is the session key of the one following the link, if it is this account's) and every link
    mailed before dies. AccountError when the link is not valid or the address was taken."""
    user, new_email = _user_for_link("email", token, current_app.config["CONFIRM_MAX_AGE"])
    if find_by_email(new_email) is not None:
        raise AccountError("email-taken")
    # Subscriptions follow the old address only if it was proven to be this member's.
    old_email = user.email if user.is_confirmed else None
    user.email, user.confirmed_at = new_email, now()
    user.session_version += 1
    follow_email_change(user, old_email)
    email_changed.send(user, old_email=old_email)
    _end_sessions(user, keep=keep)
    db.session.commit()
    return user


def delete_unconfirmed(user: User, password: str) -> None:
    """Delete an account whose address was never confirmed (commits). It never wrote, so
    nothing is left to keep: its rows go with it (logins, and any watch or list link)."""
    if user.is_confirmed:
        raise AccountError("confirmed")
    if not check_password_hash(user.password_hash, password):
        raise AccountError("wrong-password")
    db.session.delete(user)
    db.session.commit()


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
        _end_sessions(user)
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


def set_spike_alerts(user: User, wanted: bool) -> None:
    """Whether an admin is mailed when a burst of reports looks like an incident. Commits."""
    user.spike_alerts = wanted
    db.session.commit()
