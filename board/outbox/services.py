"""Queueing side effects and delivering them: the worker's half of the outbox."""

import logging
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import insert, select, text

from board.clock import now
from board.extensions import db
from board.outbox.mail import build_message, is_permanent, make_sender, new_message_id
from board.outbox.models import OutboxMessage
from board.urls import site_context

log = logging.getLogger("board.outbox")
# Backoff doubles up to an hour; with the default 20 attempts a mail survives a day-long outage.
MAX_DELAY = 3600


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


def _claim_one():
    """Lock the oldest due row; other workers skip it rather than wait (PostgreSQL)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        .where(OutboxMessage.due_at <= now())
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return db.session.scalars(stmt).first()


@dataclass(frozen=True)
class Registered:
    """Something a domain gave the worker: a handler of one outbox kind, or a periodic task."""

    func: Callable
    domain: str
    kind: str = ""

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


def registry(app=None) -> Registry:
    """The worker's registry of `app` (the current application by default)."""
    app = app or current_app
    return app.extensions.setdefault("board.outbox", Registry())


def add_handler(app, kind: str, func: Callable, domain: str) -> None:
    """Let `func(payload)` deliver the outbox rows of `kind` (mail is built in)."""
    if kind == "mail" or kind in registry(app).handlers:
        raise ValueError(f"outbox kind {kind!r} already has a handler")
    registry(app).handlers[kind] = Registered(func, domain, kind)


def add_task(app, func: Callable, domain: str) -> None:
    """Run `func()` at every round of the worker, before it delivers the outbox."""
    registry(app).tasks.append(Registered(func, domain))


def add_delivery_hook(app, func: Callable, domain: str) -> None:
    """Call `func(row)` with every outbox row delivered, before its transaction commits."""
    registry(app).delivered.append(Registered(func, domain))


def run_tasks() -> None:
    """One round of every periodic task, in the order the domains registered them."""
    for task in registry().tasks:
        task.func()


def deliver_due(limit: int | None = None) -> dict:
    """Deliver every due row (at most `limit`); commits once per row. Returns counts."""
    config = current_app.config
    sender = make_sender(config["SMTP_URL"])
    counts = {"sent": 0, "retry": 0, "failed": 0}
    try:
        while limit is None or sum(counts.values()) < limit:
            message = _claim_one()
            if message is None:
                db.session.rollback()
                break
            counts[_deliver(message, sender, config)] += 1
            db.session.commit()
    finally:
        sender.close()
    return counts


def _site():
    """Handlers build links with url_for: give them a request context on BASE_URL."""
    return nullcontext() if has_request_context() else site_context()


def _deliver(message: OutboxMessage, sender, config) -> str:
    try:
        if message.kind == "mail":
            sender.send(build_message(message.payload, config["MAIL_FROM"]))
        else:
            # In a savepoint: a handler whose SQL fails must not abort the transaction that
            # records the failure (the row would stay due and block the outbox forever).
            with db.session.begin_nested(), _site():
                registry().handlers[message.kind].func(message.payload)
    except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
        message.attempts += 1
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        if message.attempts >= config["OUTBOX_MAX_ATTEMPTS"] or is_permanent(error):
            message.failed_at = now()
            log.error("outbox %s gave up after %s attempts: %s",
                      message.id, message.attempts, message.last_error)
            return "failed"
        delay = min(config["OUTBOX_RETRY_SECONDS"] * 2 ** (message.attempts - 1), MAX_DELAY)
        message.due_at = now() + timedelta(seconds=delay)
        log.warning("outbox %s failed (attempt %s), retry in %ss: %s",
                    message.id, message.attempts, delay, message.last_error)
        return "retry"
    for hook in registry().delivered:
        hook.func(message)
    message.attempts += 1
    message.sent_at = now()
    message.last_error = None
    return "sent"
