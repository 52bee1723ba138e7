"""Queueing side effects and delivering them: the worker's half of the outbox."""

import logging
from contextlib import nullcontext
from datetime import timedelta

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import select

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


def queue_mail(to: str, template: str, locale: str | None = None, headers=None, **context):
    """Render `mail/<template>.txt` (first line: the subject) and `.html`, in the recipient's
    language, and queue the mail in the current transaction."""
    locale = locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", **context)
    subject, _, body = text.partition("\n")
    payload = {
        "to": to,
        "message_id": new_message_id(current_app.config["MAIL_FROM"]),
        "subject": subject.strip(),
        "text": body.lstrip("\n"),
        "html": html,
        "headers": headers or {},
    }
    return queue("mail", payload)


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


HANDLERS = {}
# Periodic work other domains hand to the worker (Travaux moves maintenance along its window).
TASKS = []
# Called with each row just delivered, before its transaction commits; must not raise
# (board.ops keeps a journal of deliveries outside the database, for restores).
DELIVERED = []


def task(func):
    """Run `func()` at every round of the worker, before delivering the outbox."""
    TASKS.append(func)
    return func


def handler(kind: str):
    """Register the function that delivers outbox rows of `kind` (mail is built in)."""

    def register(func):
        HANDLERS[kind] = func
        return func

    return register


def deliver_due(limit: int | None = None) -> dict:
    """Deliver every due row (at most `limit`), one transaction per row. Returns counts."""
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
                HANDLERS[message.kind](message.payload)
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
    for delivered in DELIVERED:
        delivered(message)
    message.attempts += 1
    message.sent_at = now()
    message.last_error = None
    return "sent"
