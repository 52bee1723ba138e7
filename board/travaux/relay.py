"""The social relay: incidents and maintenance posted to a Mastodon-compatible account
(POST /api/v1/statuses), through the outbox.

The opening of an incident, an announced maintenance and a resolution are posted; once an
incident has a status, each later update answers the previous status, so that an incident
reads as one thread. Every row has its own Idempotency-Key, the same at each retry: a server
that already took the request answers with the same status instead of posting it twice. A
reply waits (outbox Later) until the status it answers is posted, rather than going out
unthreaded.

MASTODON_URL and MASTODON_TOKEN, when both are set, take precedence over /admin/relay.
"""

import json
import uuid

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from board.audit import record
from board.clock import now
from board.extensions import db
from board.i18n import long_window
from board.markup import excerpt
from board.outbox.models import OutboxMessage
from board.outbox.services import Later, queue
from board.travaux import services
from board.travaux.events import Event
from board.travaux.models import Incident
from board.travaux.outbound import RelayedStatus, RelaySettings
from board.travaux.safe_http import UnsafeURL, check_url, post
from board.urls import absolute

RELAY = "relay"  # the outbox kind
LIMIT = 500  # Mastodon's default length of a status
# Posted whether or not the incident has a status yet (as a reply when it has one).
STARTS = ("incident.opened", "maintenance.announced", "incident.resolved")
# Posted only as replies, once the incident is relayed.
FOLLOWS = ("incident.updated", "maintenance.updated", "maintenance.rescheduled",
           "maintenance.cancelled", "maintenance.started", "maintenance.completed")


class RelayError(ValueError):
    """A refused setting; str(error) is a code the views turn into a message."""


class RelayFailed(Exception):
    """The server did not take the status."""


# Settings -----------------------------------------------------------------------------------

def settings_row() -> RelaySettings | None:
    """The relay's settings as /admin/relay saved them, if ever."""
    return db.session.scalar(select(RelaySettings).order_by(RelaySettings.id).limit(1))


def from_environment() -> bool:
    """Whether MASTODON_URL and MASTODON_TOKEN set the relay (the form then only shows it)."""
    config = current_app.config
    return bool(config.get("MASTODON_URL") and config.get("MASTODON_TOKEN"))


def account() -> tuple[str, str] | None:
    """(instance URL, access token) to post with, or None when the relay is off."""
    config = current_app.config
    if from_environment():
        return config["MASTODON_URL"].rstrip("/"), config["MASTODON_TOKEN"]
    row = settings_row()
    if row is None or not (row.enabled and row.instance_url and row.access_token):
        return None
    return row.instance_url.rstrip("/"), row.access_token


def save_settings(author, instance_url: str, access_token: str | None,
                  enabled: bool) -> RelaySettings:
    """Set the account the relay posts to (audited; the token is never logged). `None` as
    the token keeps the current one. Raises RelayError. Commits."""
    row = settings_row()
    if row is None:
        row = RelaySettings()
        db.session.add(row)
    token = access_token if access_token is not None else row.access_token
    if enabled and not (instance_url and token):
        raise RelayError("incomplete")
    if instance_url:
        try:
            check_url(instance_url)
        except UnsafeURL as error:
            raise RelayError(str(error)) from None
    row.instance_url, row.access_token = instance_url.rstrip("/"), token or ""
    row.enabled, row.updated_at = enabled, now()
    db.session.flush()
    record(author, "relay.update", "relay", row.id, instance_url=row.instance_url,
           enabled=enabled, token_changed=access_token is not None)
    db.session.commit()
    return row


# Texts --------------------------------------------------------------------------------------

def _head(event: Event, incident: Incident) -> str:
    title = incident.title
    if event.type == "incident.opened":
        return _("Incident: %(title)s", title=title)
    if event.type == "incident.resolved":
        return _("Resolved: %(title)s", title=title)
    if event.type in ("maintenance.announced", "maintenance.rescheduled"):
        window = (long_window(incident.window_start, incident.window_end)
                  if incident.window_start else "")
        if event.type == "maintenance.rescheduled":
            return _("Maintenance rescheduled: %(title)s, %(window)s", title=title,
                     window=window)
        return _("Planned maintenance: %(title)s, %(window)s", title=title, window=window)
    if event.type == "maintenance.cancelled":
        return _("Maintenance cancelled: %(title)s", title=title)
    status = services.status_label(event.update.status if event.update else incident.status)
    return _("Update (%(status)s): %(title)s", status=status.lower(), title=title)


def status_text(event: Event, incident: Incident) -> str:
    """The status for `event` about `incident`, in the site's language, at most LIMIT
    characters: the words are cut (with an ellipsis), never the link to the incident's
    page."""
    link = absolute(url_for("travaux.incident", incident_id=incident.id))
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        words = _head(event, incident)
        if incident.services:
            words += "\n" + _("Services: %(names)s",
                              names=", ".join(s.name for s in incident.services))
    if event.update is not None:
        message = excerpt(event.update.body_html, length=LIMIT * 2)
        if message:
            words += "\n\n" + message
    room = LIMIT - len(link) - 2
    if len(words) > room:
        words = words[:room - 1].rstrip() + "…"
    return f"{words}\n\n{link}"


# Queueing and posting -----------------------------------------------------------------------

def queue_statuses(event: Event) -> None:
    """An events listener: queue the status `event` calls for, answering the incident's
    previous one, in the transaction of the change."""
    incident = event.incident
    if incident is None or account() is None:
        return
    previous = db.session.scalar(
        select(RelayedStatus).where(RelayedStatus.incident_id == incident.id)
        .order_by(RelayedStatus.id.desc()).limit(1))
    if event.type not in STARTS and not (event.type in FOLLOWS and previous is not None):
        return
    status = RelayedStatus(incident_id=incident.id, key="travaux-" + uuid.uuid4().hex,
                           event_type=event.type, parent=previous)
    db.session.add(status)
    db.session.flush()
    message = queue(RELAY, {"relayed_id": status.id, "key": status.key,
                            "status": status_text(event, incident),
                            "language": current_app.config["BABEL_DEFAULT_LOCALE"],
                            "visibility": "public"})
    db.session.flush()
    status.outbox_id = message.id


def _answered(status: RelayedStatus) -> RelayedStatus | None:
    """The posted status `status` answers; raises Later while it waits for its own post. A
    parent that failed for good is skipped for its own parent."""
    parent = status.parent
    while parent is not None and parent.status_id is None:
        row = db.session.get(OutboxMessage, parent.outbox_id) if parent.outbox_id else None
        if row is not None and row.failed_at is None:
            raise Later("the status this one answers is not posted yet")
        parent = parent.parent
    return parent


def post_status(payload: dict) -> None:
    """The outbox handler: POST the status (a reply when the incident has one posted),
    with the row's Idempotency-Key; keep the id the server gives it."""
    status = db.session.get(RelayedStatus, payload["relayed_id"])
    if status is None or status.status_id is not None:
        return  # its incident was deleted, or it is already posted
    found = account()
    if found is None:
        raise RelayFailed("the relay is not configured (MASTODON_URL / MASTODON_TOKEN or "
                          "/admin/relay)")
    instance, token = found
    params = {"status": payload["status"], "visibility": payload["visibility"],
              "language": payload["language"]}
    parent = _answered(status)
    if parent is not None:
        params["in_reply_to_id"] = parent.status_id
    answer = post(f"{instance}/api/v1/statuses", json.dumps(params).encode(),
                  {"Authorization": f"Bearer {token}", "Idempotency-Key": payload["key"]})
    if not 200 <= answer.status < 300:
        raise RelayFailed(f"HTTP {answer.status}: "
                          f"{answer.body[:200].decode('utf-8', 'replace')}")
    try:
        posted = json.loads(answer.body)
        status.status_id = str(posted["id"])
    except (ValueError, KeyError, TypeError):
        raise RelayFailed("the server's answer has no status id") from None
    url = str(posted.get("url") or "")
    status.status_url = url[:500] if url.startswith(("https://", "http://")) else None
    status.posted_at = now()


def recent_statuses(limit: int = 20) -> list[RelayedStatus]:
    """The latest statuses queued, newest first, for the relay's page."""
    return list(db.session.scalars(select(RelayedStatus)
                                   .order_by(RelayedStatus.id.desc()).limit(limit)))
