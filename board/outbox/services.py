"""Queueing side effects and delivering them: the worker's half of the outbox."""

import logging
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import insert, or_, select, text, update

from board.clock import now
from board.extensions import db
from board.outbox.mail import (
    ServerUnavailable,
    build_message,
    is_permanent,
    make_sender,
    new_message_id,
)
from board.outbox.models import OutboxMessage
from board.urls import site_context

log = logging.getLogger("board.outbox")
# Backoff doubles up to an hour; a row expires by age (OUTBOX_MAX_AGE_HOURS), not by count.
MAX_DELAY = 3600
_PENDING = (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))


class Later(Exception):
    """Raised by a handler that cannot run its row now through no fault of the row (another
    worker holds what it needs): the row waits OUTBOX_RETRY_SECONDS, no attempt charged."""


def queue(kind: str, payload: dict) -> OutboxMessage:
    """Add a side effect to the current transaction; the caller commits it with its change."""
    message = OutboxMessage(kind=kind, payload=payload, due_at=now())
    db.session.add(message)
    return message


@dataclass
class Mail:
    """One mail as the outbox stores it; `build_message` turns it into MIME at delivery."""

    to: str
    subject: str
    text: str
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict:
        # The Message-ID is fixed now, so that a retry carries the same one.
        return {"to": self.to, "message_id": new_message_id(current_app.config["MAIL_FROM"]),
                "subject": self.subject, "text": self.text, "html": self.html,
                "headers": dict(self.headers)}


def render_mail(template: str, locale: str | None = None, **context) -> Mail:
    """Render `mail/<template>.txt` (first line: the subject) and `.html` in `locale`, the
    site's default language when none is given. The recipient is filled in by the caller."""
    locale = locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", **context)
    subject, _, body = text.partition("\n")
    return Mail(to="", subject=subject.strip(), text=body.lstrip("\n"), html=html)


def queue_mail(to: str, template: str, locale: str | None = None, headers=None,
               **context) -> OutboxMessage:
    """Render a mail template in the recipient's language and queue it, in the caller's
    transaction."""
    mail = render_mail(template, locale, **context)
    mail.to, mail.headers = to, dict(headers or {})
    return queue("mail", mail.payload())


def queue_many(mails: Iterable[Mail]) -> int:
    """Queue many mails in one INSERT, in the caller's transaction (a list's fan-out).
    Returns how many."""
    moment = now()
    rows = [{"kind": "mail", "created_at": moment, "due_at": moment, "attempts": 0,
             "payload": mail.payload()} for mail in mails]
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
        if len(rows) > 500 and db.engine.dialect.name == "postgresql":
            # Fresh statistics after a bulk load, so workers pick rows by index, not by sort.
            db.session.execute(text("ANALYZE outbox"))
    return len(rows)


def _claim_one(started, mail: bool):
    """Lock the oldest due row, mail included or not; other workers skip it rather than wait
    (PostgreSQL). A row already tried (it has a last error) is taken only if it was due when
    the pass `started`: a row retried in this pass waits for the next one, whatever its delay,
    while the mail a fan-out queues in this pass still goes out in it."""
    stmt = (
        select(OutboxMessage)
        .where(*_PENDING, OutboxMessage.due_at <= now())
        .where(or_(OutboxMessage.due_at <= started, OutboxMessage.last_error.is_(None)))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if not mail:
        stmt = stmt.where(OutboxMessage.kind != "mail")
    return db.session.scalars(stmt).first()


@dataclass(frozen=True)
class Registered:
    """Something a domain gave the worker: a handler of one outbox kind, or a periodic task."""

    func: Callable
    domain: str
    kind: str = ""
    # Rows of this kind are retried at least this long, whatever OUTBOX_MAX_AGE_HOURS says.
    keep_hours: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


@dataclass
class Registry:
    """What the worker runs for one application, filled by the domains' `init_app`."""

    handlers: dict[str, Registered] = field(default_factory=dict)
    tasks: list[Registered] = field(default_factory=list)
    # Called with each row just delivered, before its transaction commits; must not raise
    # (board.ops keeps a journal of deliveries outside the database, for restores).
    delivered: list[Registered] = field(default_factory=list)
    # Called with each row whose attempt failed and the error, after the handler's savepoint
    # is rolled back, in the transaction that records the failure; must not raise.
    failed: list[Registered] = field(default_factory=list)


def registry(app=None) -> Registry:
    """The worker's registry of `app` (the current application by default)."""
    app = app or current_app
    return app.extensions.setdefault("board.outbox", Registry())


def add_handler(app, kind: str, func: Callable, domain: str, keep_hours: float = 0.0) -> None:
    """Let `func(payload)` deliver the outbox rows of `kind` (mail is built in); a failing
    row of this kind is retried for at least `keep_hours`, whatever OUTBOX_MAX_AGE_HOURS."""
    if kind == "mail" or kind in registry(app).handlers:
        raise ValueError(f"outbox kind {kind!r} already has a handler")
    registry(app).handlers[kind] = Registered(func, domain, kind, keep_hours)


def add_task(app, func: Callable, domain: str) -> None:
    """Run `func()` at every round of the worker, before it delivers the outbox."""
    registry(app).tasks.append(Registered(func, domain))


def add_delivery_hook(app, func: Callable, domain: str) -> None:
    """Call `func(row)` with every outbox row delivered, before its transaction commits."""
    registry(app).delivered.append(Registered(func, domain))


def add_failure_hook(app, func: Callable, domain: str) -> None:
    """Call `func(row, error)` with every outbox row whose attempt failed, in the transaction
    that records the failure (the handler's own writes are rolled back by then)."""
    registry(app).failed.append(Registered(func, domain))


def run_tasks() -> None:
    """One round of every periodic task, in the order the domains registered them."""
    for task in registry().tasks:
        task.func()


def deliver_due(limit: int | None = None) -> dict:
    """Deliver every due row (at most `limit`), each at most once a pass; commits once per
    row. An unreachable SMTP server ends the pass for mail: the queue waits.
    Returns counts."""
    config = current_app.config
    sender = make_sender(config["SMTP_URL"])
    counts = {"sent": 0, "retry": 0, "failed": 0}
    started, mail = now(), True
    try:
        while limit is None or sum(counts.values()) < limit:
            message = _claim_one(started, mail)
            if message is None:
                db.session.rollback()
                break
            try:
                counts[_deliver(message, sender, config)] += 1
            except ServerUnavailable as error:
                held = _hold_mail(message, error, config)
                counts["retry"] += held["waiting"]
                counts["failed"] += held["expired"]
                mail = False
            db.session.commit()
    finally:
        sender.close()
    return counts


def _site():
    """Handlers build links with url_for: give them a request context on BASE_URL."""
    return nullcontext() if has_request_context() else site_context()


def _deliver(message: OutboxMessage, sender, config) -> str:
    """Run one row; raises ServerUnavailable when the SMTP server, not the row, is at fault."""
    try:
        if message.kind == "mail":
            sender.send(build_message(message.payload, config["MAIL_FROM"]))
        else:
            # In a savepoint: a handler whose SQL fails must not abort the transaction that
            # records the failure (the row would stay due and block the outbox forever).
            with db.session.begin_nested(), _site():
                registry().handlers[message.kind].func(message.payload)
    except ServerUnavailable:
        raise
    except Later as error:
        return _retry(message, f"waiting: {error}", config["OUTBOX_RETRY_SECONDS"], config)
    except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
        message.attempts += 1
        for hook in registry().failed:
            hook.func(message, error)
        reason = f"{type(error).__name__}: {error}"
        if is_permanent(error):
            return _fail(message, reason)
        delay = min(config["OUTBOX_RETRY_SECONDS"] * 2 ** (message.attempts - 1), MAX_DELAY)
        return _retry(message, reason, delay, config)
    for hook in registry().delivered:
        hook.func(message)
    message.attempts += 1
    message.sent_at = now()
    message.last_error = None
    return "sent"


def _retry(message: OutboxMessage, reason: str, delay: float, config) -> str:
    """Put the row back for `delay` seconds, or fail it once it is older than the age limit."""
    if now() - message.created_at >= _max_age(config, message.kind):
        return _fail(message, _expired(reason, config))
    message.last_error = reason[:2000]
    message.due_at = now() + timedelta(seconds=delay)
    log.warning("outbox %s not done (attempts: %s), retry in %ss: %s",
                message.id, message.attempts, delay, message.last_error)
    return "retry"


def _fail(message: OutboxMessage, reason: str) -> str:
    message.failed_at = now()
    message.last_error = reason[:2000]
    log.error("outbox %s gave up after %s attempts: %s",
              message.id, message.attempts, message.last_error)
    return "failed"


def _max_age(config, kind: str = "mail") -> timedelta:
    handler = registry().handlers.get(kind)
    keep = handler.keep_hours if handler else 0.0
    return timedelta(hours=max(config["OUTBOX_MAX_AGE_HOURS"], keep))


def _expired(reason: str, config) -> str:
    return (f"expired: still undelivered after {config['OUTBOX_MAX_AGE_HOURS']:g} hours in "
            f"the queue (OUTBOX_MAX_AGE_HOURS); last error: {reason}")[:2000]


def _hold_mail(message: OutboxMessage, error: ServerUnavailable, config) -> dict:
    """The SMTP server cannot be reached: every pending mail waits, none is charged an
    attempt. As Postfix does, the wait grows with the age of the oldest mail (from
    OUTBOX_RETRY_SECONDS to an hour); mail older than the age limit expires. Returns how many
    rows wait and how many expired, in the caller's transaction."""
    moment = now()
    age = (moment - message.created_at).total_seconds()
    until = moment + timedelta(seconds=min(max(age, config["OUTBOX_RETRY_SECONDS"]), MAX_DELAY))
    reason = str(error)[:1500]
    # Rows another worker holds are its business (SKIP LOCKED); our own claimed row is ours.
    mail = (select(OutboxMessage.id).where(OutboxMessage.kind == "mail", *_PENDING)
            .with_for_update(skip_locked=True))
    expired = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(mail.where(OutboxMessage.created_at <= moment
                                               - _max_age(config))))
        .values(failed_at=moment, last_error=_expired(reason, config)),
        execution_options={"synchronize_session": False}).rowcount
    waiting = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(mail.where(OutboxMessage.due_at < until)))
        .values(due_at=until),
        execution_options={"synchronize_session": False}).rowcount
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id,
                                                   *_PENDING).values(last_error=reason),
                       execution_options={"synchronize_session": False})
    log.warning("%s mail wait until %s, %s expired: %s",
                waiting, until.isoformat(timespec="seconds"), expired, reason)
    return {"waiting": waiting, "expired": expired}
