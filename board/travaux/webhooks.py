"""Webhooks: every Travaux event as a signed JSON document POSTed to the endpoints admins
registered, through the outbox (Standard Webhooks: https://www.standardwebhooks.com/).

The document is frozen when the event happens, in the transaction of the change: one outbox
row per endpoint carries its exact bytes and its `webhook-id`, so a retry sends the same body
with the same id (receivers drop what they have already seen). Only the timestamp and the
signature are made at each attempt, so that receivers may refuse stale timestamps.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import delete, func, select

from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum.models import Thread
from board.outbox.models import OutboxMessage
from board.outbox.services import queue
from board.travaux import safe_http, services
from board.travaux.events import EVENT_TYPES, Event
from board.travaux.models import Incident, IncidentUpdate, Service
from board.travaux.outbound import WebhookDelivery, WebhookEndpoint
from board.travaux.safe_http import UnsafeURL, check_url, elapsed_ms, post
from board.urls import absolute
from board.visibility import GUEST, can_see_thread

WEBHOOK = "webhook"  # the outbox kind
TEST = "webhook.test"
STAFF_ONLY_TYPES = ("report.spike",)
# Standard Webhooks asks for retries over at least a day; the outbox keeps them that long.
KEEP_HOURS = 24.0
SECRET_PREFIX = "whsec_"
LOG_DAYS = 30  # how long the delivery log keeps an attempt


class WebhookError(ValueError):
    """A refused endpoint; str(error) is a code the views turn into a message."""


class DeliveryFailed(Exception):
    """An attempt that did not get a 2xx: what the delivery log says about it."""

    def __init__(self, message: str, status_code: int | None = None, duration_ms: int = 0):
        super().__init__(message)
        self.status_code, self.duration_ms = status_code, duration_ms


# Secrets and signatures ---------------------------------------------------------------------

def new_secret() -> str:
    """A fresh secret: "whsec_" and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a "whsec_" secret (its base64 part, decoded); raises WebhookError
    ("secret") when it is not one of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookError("secret")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("secret") from None
    if not 24 <= len(key) <= 64:
        raise WebhookError("secret")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: "v1," and the base64 HMAC-SHA256 of id.timestamp.body."""
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# Documents ----------------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def incident_document(incident: Incident) -> dict:
    """An incident or a maintenance as webhooks carry it."""
    return {
        "id": incident.id, "kind": incident.kind, "title": incident.title,
        "status": services.current_status(incident), "impact": incident.impact,
        "sequence": incident.sequence,
        "services": [s.slug for s in incident.services],
        "window_start": _iso(incident.window_start), "window_end": _iso(incident.window_end),
        "url": absolute(url_for("travaux.incident", incident_id=incident.id)),
        "created_at": _iso(incident.created_at), "updated_at": _iso(incident.updated_at),
        "resolved_at": _iso(incident.resolved_at),
    }


def update_document(update: IncidentUpdate | None) -> dict | None:
    """The update an event is about (Markdown message), or None."""
    if update is None:
        return None
    return {"id": update.id, "status": update.status, "message": update.body_source,
            "created_at": _iso(update.created_at)}


def _thread_document(thread_id, staff: bool) -> dict | None:
    thread = db.session.get(Thread, thread_id) if thread_id else None
    if thread is None or not (staff or can_see_thread(GUEST, thread)):
        return None
    return {"id": thread.id, "title": thread.title,
            "url": absolute(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))}


def event_document(event: Event, staff: bool) -> dict | None:
    """The JSON document of `event` for a staff-only endpoint or another one; None when such
    an endpoint must not hear of it (a promoted report only staff may see)."""
    data: dict = {"incident": incident_document(event.incident) if event.incident else None,
                  "update": update_document(event.update)}
    extra = dict(event.data)
    if event.type == "thread.promoted":
        data["thread"] = _thread_document(extra.pop("thread_id", None), staff)
        if data["thread"] is None:
            return None
    if event.type == "report.spike":
        service = db.session.get(Service, extra.get("service_id") or 0)
        extra["service"] = service.slug if service else None
    data.update({k: v for k, v in extra.items() if k not in data})
    return {"id": "evt_" + uuid.uuid4().hex, "type": event.type, "created_at": _iso(event.at),
            "data": data}


def _event_services(event: Event) -> set[int]:
    if event.incident is not None:
        return {s.id for s in event.incident.services}
    return {event.data["service_id"]} if event.data.get("service_id") else set()


def wants(endpoint: WebhookEndpoint, event: Event) -> bool:
    """Whether `endpoint` asked for this event: its type, its services (none chosen: all)."""
    if not endpoint.enabled or event.type not in endpoint.event_types:
        return False
    if event.type in STAFF_ONLY_TYPES and not endpoint.staff_only:
        return False
    chosen = {s.id for s in endpoint.services}
    return not chosen or bool(chosen & _event_services(event))


def queue_event_deliveries(event: Event) -> None:
    """An events listener: one outbox row per endpoint that wants `event`, carrying its
    frozen body, in the transaction of the change."""
    endpoints = [e for e in db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id)) if wants(e, event)]
    bodies: dict[bool, dict | None] = {}
    for endpoint in endpoints:
        if endpoint.staff_only not in bodies:
            bodies[endpoint.staff_only] = event_document(event, endpoint.staff_only)
        document = bodies[endpoint.staff_only]
        if document is not None:
            _queue(endpoint, document)


def _queue(endpoint: WebhookEndpoint, document: dict) -> OutboxMessage:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return queue(WEBHOOK, {"endpoint_id": endpoint.id, "message_id": "msg_" + uuid.uuid4().hex,
                           "type": document["type"], "body": body})


# Delivering ---------------------------------------------------------------------------------

def deliver(payload: dict) -> None:
    """The outbox handler: POST the frozen body, signed now; a 2xx is delivered, anything
    else raises DeliveryFailed (the outbox retries with backoff). A deleted or disabled
    endpoint gets nothing."""
    endpoint = db.session.get(WebhookEndpoint, payload["endpoint_id"])
    if endpoint is None or not endpoint.enabled:
        return
    timestamp = int(now().timestamp())
    headers = {"webhook-id": payload["message_id"], "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(endpoint.secret, payload["message_id"], timestamp,
                                         payload["body"])}
    started = time.monotonic()
    try:
        answer = post(endpoint.url, payload["body"].encode(), headers)
    except UnsafeURL as error:
        raise DeliveryFailed(f"refused: {_UNSAFE[str(error)]}") from None
    except TimeoutError:
        raise DeliveryFailed(f"timed out after {safe_http.TIMEOUT:g} s", None,
                             elapsed_ms(started)) from None
    except OSError as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}", None,
                             elapsed_ms(started)) from None
    except Exception as error:  # noqa: BLE001 - a broken answer (bad status line...)
        raise DeliveryFailed(f"{type(error).__name__}: {error}", None,
                             elapsed_ms(started)) from None
    if not 200 <= answer.status < 300:
        raise DeliveryFailed(f"HTTP {answer.status}", answer.status, answer.duration_ms)
    db.session.add(WebhookDelivery(endpoint_id=endpoint.id, message_id=payload["message_id"],
                                   event_type=payload["type"], status_code=answer.status,
                                   duration_ms=answer.duration_ms))
    _forget_old_attempts(endpoint.id)


def _forget_old_attempts(endpoint_id: int) -> None:
    """The log keeps LOG_DAYS of attempts: one indexed DELETE per delivery keeps it small."""
    db.session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.attempted_at < now() - timedelta(days=LOG_DAYS)))


_UNSAFE = {"scheme": "not an https address",
           "host": "the host does not resolve",
           "private": "the host resolves to a private or reserved address"}


def record_failure(message: OutboxMessage, error: Exception) -> None:
    """The outbox's failure hook: a failed webhook attempt goes into its endpoint's log."""
    if message.kind != WEBHOOK:
        return
    payload = message.payload
    if db.session.get(WebhookEndpoint, payload["endpoint_id"]) is None:
        return
    failed = error if isinstance(error, DeliveryFailed) else DeliveryFailed(
        f"{type(error).__name__}: {error}")
    db.session.add(WebhookDelivery(endpoint_id=payload["endpoint_id"],
                                   message_id=payload["message_id"], event_type=payload["type"],
                                   status_code=failed.status_code,
                                   duration_ms=failed.duration_ms, error=str(failed)[:2000]))


# Admin operations ---------------------------------------------------------------------------

def _check(url: str, secret: str, event_types: list[str], staff_only: bool) -> None:
    try:
        check_url(url)
    except UnsafeURL as error:
        raise WebhookError(str(error)) from None
    secret_key(secret)
    if not event_types or any(t not in EVENT_TYPES for t in event_types):
        raise WebhookError("events")
    if not staff_only and any(t in STAFF_ONLY_TYPES for t in event_types):
        raise WebhookError("staff-only")


def save_endpoint(endpoint: WebhookEndpoint | None, author, *, url: str, description: str,
                  secret: str | None, event_types: list[str], services: list[Service],
                  staff_only: bool, enabled: bool) -> tuple[WebhookEndpoint, str | None]:
    """Register or change an endpoint (audited). `secret` None keeps the current one (a new
    endpoint gets a generated one); returns the endpoint and the secret to show, once, when
    one was generated. Raises WebhookError. Commits."""
    generated = None
    if secret is None and endpoint is None:
        secret = generated = new_secret()
    current = secret if secret is not None else (endpoint.secret if endpoint else "")
    _check(url, current, event_types, staff_only)
    if endpoint is None:
        endpoint = WebhookEndpoint(secret=secret)
        db.session.add(endpoint)
        action = "webhook.create"
    else:
        action = "webhook.update"
        if secret is not None:
            endpoint.secret = secret
    endpoint.url, endpoint.description = url, description
    endpoint.event_types = [t for t in EVENT_TYPES if t in event_types]
    endpoint.services = list(services)
    endpoint.staff_only, endpoint.enabled, endpoint.updated_at = staff_only, enabled, now()
    db.session.flush()
    record(author, action, "webhook", endpoint.id, url=url, events=endpoint.event_types,
           services=[s.slug for s in endpoint.services], staff_only=staff_only,
           enabled=enabled, secret_changed=secret is not None)
    db.session.commit()
    return endpoint, generated


def delete_endpoint(endpoint: WebhookEndpoint, author) -> None:
    """Remove an endpoint and its log; what it still had to receive is dropped. Commits."""
    record(author, "webhook.delete", "webhook", endpoint.id, url=endpoint.url)
    db.session.delete(endpoint)
    db.session.commit()


def send_test(endpoint: WebhookEndpoint, author) -> OutboxMessage:
    """Queue a `webhook.test` event to this endpoint alone (audited). Commits."""
    document = {"id": "evt_" + uuid.uuid4().hex, "type": TEST, "created_at": _iso(now()),
                "data": {"incident": None, "update": None,
                         "message": "Test event: this endpoint receives Travaux events."}}
    message = _queue(endpoint, document)
    record(author, "webhook.test", "webhook", endpoint.id, url=endpoint.url)
    db.session.commit()
    return message


def delivery_log(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """The latest attempts to reach `endpoint`, newest first."""
    return list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.attempted_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)))


def pending_count(endpoint: WebhookEndpoint) -> int:
    """Events still waiting (or being retried) for `endpoint`."""
    # Counted by the database (JSON path on both engines), not by reading every payload.
    return db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == WEBHOOK, OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.payload["endpoint_id"].as_integer() == endpoint.id)) or 0
