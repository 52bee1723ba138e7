"""`flask doctor`: checks a deployment, one finding per check, in plain words.

Each check returns a Finding: OK, WARNING (works, but not as the operator probably wants) or
ERROR (something will fail). The command exits non-zero when any check is an ERROR.
"""

import ipaddress
import os
import shlex
import shutil
import smtplib
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from board.clock import now
from board.extensions import db
from board.ops.workers import shares_rate_limits
from board.outbox.mail import SMTPSender
from board.outbox.models import OutboxMessage

OK, WARNING, ERROR = "OK", "WARNING", "ERROR"
OVERDUE = timedelta(minutes=10)
NETWORK_TIMEOUT = 5


@dataclass
class Finding:
    level: str
    check: str
    message: str
    details: list[str] = field(default_factory=list)


def run_checks(workers: int) -> list[Finding]:
    """Every check, in the order an operator fixes things."""
    database = check_database()
    return [
        database,
        check_secret_key(),
        check_cookies(),
        check_smtp(),
        check_redis(),
        check_rate_limits(workers),
        check_trusted_proxies(),
        check_export_dir(),
        check_publish_command(),
        check_outbox(database_usable=database.level == OK),
    ]


def check_database() -> Finding:
    # A connection of its own, with a short timeout: a firewalled server must not hang us.
    connect_args = {"connect_timeout": NETWORK_TIMEOUT} \
        if db.engine.dialect.name == "postgresql" else {}
    engine = create_engine(db.engine.url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        return Finding(ERROR, "database", f"cannot connect ({reason}): check DATABASE_URL "
                                          "and that the server is running")
    finally:
        engine.dispose()
    heads = set(_scripts().get_heads())
    if not current:
        return Finding(ERROR, "database", "reachable but not migrated: run "
                                          "`flask --app wsgi db upgrade`")
    if current != heads:
        return Finding(ERROR, "database", f"at revision {', '.join(sorted(current))}, code "
                       f"expects {', '.join(sorted(heads))}: run `flask --app wsgi db upgrade`")
    return Finding(OK, "database", f"reachable, migrated (revision {', '.join(heads)})")


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def check_secret_key() -> Finding:
    key = current_app.config.get("SECRET_KEY") or ""
    if not key:
        return Finding(ERROR, "SECRET_KEY", "empty: set SECRET_KEY in the environment")
    if os.environ.get("SECRET_KEY") == key:
        return Finding(OK, "SECRET_KEY", "set in the environment")
    kept = Path(current_app.instance_path) / "secret_key"
    if kept.is_file() and kept.read_text(encoding="ascii").strip() == key:
        return Finding(WARNING, "SECRET_KEY", f"generated and kept in {kept}: fine on one "
                       "host, but several hosts need the same SECRET_KEY in their environment "
                       "(or sessions and links signed on one fail on another)")
    return Finding(OK, "SECRET_KEY", "set in the configuration")


def check_cookies() -> Finding:
    base_url = current_app.config["BASE_URL"]
    parts = urlsplit(base_url)
    secure = current_app.config.get("SESSION_COOKIE_SECURE") and \
        current_app.config.get("REMEMBER_COOKIE_SECURE")
    if parts.scheme == "https":
        if secure:
            return Finding(OK, "BASE_URL", f"{base_url}: https, cookies are Secure")
        return Finding(ERROR, "BASE_URL", f"{base_url} is https but cookies are not Secure: "
                       "do not override SESSION_COOKIE_SECURE / REMEMBER_COOKIE_SECURE")
    if parts.scheme != "http" or not parts.hostname:
        return Finding(ERROR, "BASE_URL", f"{base_url!r} is not an http(s) address: set "
                       "BASE_URL to the public address, e.g. https://communaute.example.org")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        return Finding(ERROR, "BASE_URL", f"{base_url} is plain http but cookies are Secure: "
                       "browsers will not send them back, nobody can log in")
    if _is_loopback(parts.hostname):
        return Finding(OK, "BASE_URL", f"{base_url}: plain http on this machine only")
    return Finding(WARNING, "BASE_URL", f"{base_url} is plain http on a public name: "
                   "passwords and session cookies travel unencrypted; serve it over TLS and "
                   "set BASE_URL=https://... (cookies then become Secure)")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_smtp() -> Finding:
    url = current_app.config["SMTP_URL"]
    if not url:
        return Finding(WARNING, "SMTP", "SMTP_URL is not set: mail is written to the worker's "
                       "log, nobody receives it; set SMTP_URL=smtp://host:25")
    try:
        sender = SMTPSender(url, timeout=NETWORK_TIMEOUT)
    except ValueError as error:
        return Finding(ERROR, "SMTP", f"{error}")
    where = f"{sender.host}:{sender.port}"
    try:
        cls = smtplib.SMTP_SSL if sender.ssl else smtplib.SMTP
        with cls(sender.host, sender.port, timeout=NETWORK_TIMEOUT) as conn:
            code, banner = conn.ehlo()
            if code != 250:
                raise smtplib.SMTPResponseException(code, banner)
            if sender.starttls:
                conn.starttls()
                conn.ehlo()
    except (OSError, smtplib.SMTPException) as error:
        return Finding(ERROR, "SMTP", f"{where} does not answer ({type(error).__name__}: "
                       f"{error}): mail stays in the outbox; check SMTP_URL and the mail server")
    name = banner.decode(errors="replace").splitlines()[0] if banner else "?"
    return Finding(OK, "SMTP", f"{where} answers EHLO ({name})")


def check_redis() -> Finding:
    url = current_app.config["REDIS_URL"]
    if not url:
        return Finding(OK, "Redis", "REDIS_URL is not set: rate limits are counted in memory")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=NETWORK_TIMEOUT,
                                      socket_timeout=NETWORK_TIMEOUT)
        client.ping()
        client.close()
    except (redis.RedisError, ValueError) as error:
        return Finding(ERROR, "Redis", f"{_redacted(url)} does not answer ({error}): every "
                       "rate-limited page fails; check REDIS_URL and the Redis server")
    return Finding(OK, "Redis", f"{_redacted(url)} answers PING")


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def check_rate_limits(workers: int) -> Finding:
    if shares_rate_limits(current_app):
        return Finding(OK, "rate limits", "shared between processes (Redis)")
    if workers > 1:
        return Finding(WARNING, "rate limits", f"{workers} web workers expected without "
                       "REDIS_URL: each process counts on its own, so every limit is "
                       f"{workers} times looser; set REDIS_URL")
    return Finding(OK, "rate limits", "one web worker expected: memory is enough (with more, "
                   "set REDIS_URL; the count comes from --workers, GUNICORN_CMD_ARGS or "
                   "WEB_CONCURRENCY)")


def check_trusted_proxies() -> Finding:
    hops = current_app.config["TRUSTED_PROXIES"]
    rule = ("with TRUSTED_PROXIES=N the Nth address from the end of X-Forwarded-For is taken "
            "as the visitor's, so N must be exactly the number of proxies in front")
    if hops < 0:
        return Finding(ERROR, "TRUSTED_PROXIES", f"{hops} is negative: set it to the number of "
                       "reverse proxies in front (0 when none)")
    if hops == 0:
        if urlsplit(current_app.config["BASE_URL"]).scheme == "https":
            return Finding(WARNING, "TRUSTED_PROXIES", "0 while BASE_URL is https (usually "
                           "behind a TLS proxy): if a proxy stands in front, every visitor "
                           "has its address and shares one rate-limit bucket; " + rule)
        return Finding(OK, "TRUSTED_PROXIES", "0: visitors' addresses are taken from the "
                       "connection (no proxy in front)")
    finding = Finding(OK, "TRUSTED_PROXIES", f"{hops}: {rule}; more than there are lets "
                      "visitors forge their address and bypass rate limits")
    if hops > 2:
        finding.level = WARNING
        finding.message = f"{hops} is unusually many proxies: " + finding.message
    return finding


def check_export_dir() -> Finding:
    directory = current_app.config["TRAVAUX_EXPORT_DIR"]
    if not directory:
        return Finding(OK, "TRAVAUX_EXPORT_DIR", "not set: no static status site is written")
    # The export builds each version beside the folder and swaps a link: the parent must
    # take new entries (it is created when missing, so its nearest existing ancestor).
    parent = Path(directory).absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    try:
        if not parent.is_dir():
            raise NotADirectoryError(f"{parent} is not a folder")
        os.rmdir(tempfile.mkdtemp(prefix=".board-doctor-", dir=parent))
    except OSError as error:
        return Finding(ERROR, "TRAVAUX_EXPORT_DIR", f"cannot write next to {directory} "
                       f"({error}): the status site cannot be exported; fix the folder's "
                       "owner or permissions, or the setting")
    return Finding(OK, "TRAVAUX_EXPORT_DIR", f"{directory}: writable")


def check_publish_command() -> Finding:
    command = current_app.config["TRAVAUX_PUBLISH_COMMAND"]
    if not command:
        return Finding(OK, "TRAVAUX_PUBLISH_COMMAND", "not set: the export is not copied "
                       "anywhere")
    try:
        program = shlex.split(command)[0]
    except (ValueError, IndexError):
        return Finding(ERROR, "TRAVAUX_PUBLISH_COMMAND", f"{command!r} cannot be read as a "
                       "command line (check its quotes)")
    found = shutil.which(program)
    if found is None:
        where = "not found on PATH" if os.sep not in program else \
            "no such file" if not os.path.exists(program) else "not executable"
        return Finding(ERROR, "TRAVAUX_PUBLISH_COMMAND", f"{program}: {where}; every publish "
                       "will fail: install it, fix the path, or make it executable (chmod +x)")
    return Finding(OK, "TRAVAUX_PUBLISH_COMMAND", f"{found} is executable")


def check_outbox(database_usable: bool) -> Finding:
    if not database_usable:
        return Finding(ERROR, "outbox", "cannot be read: see the database above")
    waiting = (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
    count = func.count(OutboxMessage.id)
    pending = db.session.scalar(select(count).where(*waiting))
    overdue = db.session.scalar(select(count).where(*waiting,
                                                    OutboxMessage.due_at < now() - OVERDUE))
    failed = db.session.scalar(select(count).where(OutboxMessage.failed_at.is_not(None)))
    newest = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.failed_at,
               OutboxMessage.last_error)
        .where(OutboxMessage.failed_at.is_not(None))
        .order_by(OutboxMessage.failed_at.desc(), OutboxMessage.id.desc()).limit(5)).all()
    db.session.rollback()
    summary = f"{pending} pending, {overdue} overdue, {failed} failed"
    details = [f"#{row.id} {row.kind} failed {row.failed_at:%Y-%m-%d %H:%M} UTC: "
               f"{row.last_error}" for row in newest]
    if overdue:
        return Finding(WARNING, "outbox", f"{summary}: rows due more than 10 minutes ago wait; "
                       "is `flask --app wsgi worker` running? (see its log)", details)
    if failed:
        return Finding(WARNING, "outbox", f"{summary}: these were given up; read the last "
                       "errors below (a 5xx is a refusal by the mail server)", details)
    return Finding(OK, "outbox", summary)
