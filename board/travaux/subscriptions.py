"""Travaux mail subscriptions: to all of Travaux, to chosen services, to one incident; what is
mailed to them at each event, and the reminders before a maintenance.

Subscribing is a double opt-in, as for the lists (a page with a button, single use, expiring
after LIST_CONFIRM_DAYS); a member subscribing their own confirmed address is not asked
again. Every mail carries the links of the subscription it was sent for: its manage page
(change services, leave) and RFC 8058's one-click unsubscribe, both behind the row's secret
token. The Travaux mailing list stays: its subscribers are subscribers to all of Travaux, and
narrowing from the manage page moves them to a Travaux subscription (the list row ends).

Mail goes out in two steps: the events listener (`queue_notice`, in the transaction of the
change) queues one outbox job; the worker's handler (`fan_out`) reads the recipients once,
one per address whatever the overlap of list, services and incident, and queues one mail
each in a single INSERT, in the job's transaction (two workers never send it twice).
"""

import hashlib
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.i18n import long_window
from board.lists import services as lists
from board.lists.models import Subscription
from board.markup import escape_md
from board.outbox.services import Mail, queue, queue_mail, queue_many, render_mail
from board.travaux import events
from board.travaux import services as travaux
from board.travaux.models import CLOSED, MAINTENANCE, Incident, IncidentUpdate, Service
from board.travaux.subscription_models import (
    ACTIVE,
    ENDED,
    PENDING,
    UNSUBSCRIBED,
    MaintenanceReminder,
    TravauxSubscription,
    subscription_services,
)
from board.urls import absolute, site_context
from board.visibility import GUEST, can_see_thread

NOTICE = "travaux_notice"  # the outbox kind of one event's fan-out
RESEND_DELAY = timedelta(minutes=10)
# The events that are mailed when the admin asked for it (worker-made ones always ask).
MAILED = ("incident.opened", "incident.updated", "incident.resolved", "maintenance.announced",
          "maintenance.updated", "maintenance.rescheduled", "maintenance.cancelled",
          "maintenance.reminder", "maintenance.started", "maintenance.completed")
# The events that close an operation: an incident subscription's last mail.
CLOSING = ("incident.resolved", "maintenance.completed", "maintenance.cancelled")
MANAGE_MARK, UNSUBSCRIBE_MARK = "__MANAGE_URL__", "__UNSUBSCRIBE_URL__"


class SubscriptionError(ValueError):
    """A refused request; str(error) is a code the views turn into a message."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _normalize(email: str) -> str:
    return email.strip().lower()


def _confirmed_owner(user, email: str) -> bool:
    return user is not None and user.is_confirmed and user.email == email


# Subscribing ------------------------------------------------------------------------------

def general_subscription(email: str) -> TravauxSubscription | None:
    """The address's subscription to all of Travaux or to services, or None."""
    return db.session.scalar(select(TravauxSubscription).where(
        TravauxSubscription.email == _normalize(email),
        TravauxSubscription.incident_id.is_(None)))


def _waiting(subscription: TravauxSubscription) -> bool:
    return bool(subscription.status == PENDING and subscription.confirm_sent_at
                and now() - subscription.confirm_sent_at < RESEND_DELAY)


def _ask(subscription: TravauxSubscription, locale: str | None, user) -> str:
    """Make a row pending and mail its confirmation link, or activate it at once for its
    member's own confirmed address. Returns "active", "sent" or "waiting" (a link went out
    moments ago: no mail bombing through us)."""
    subscription.locale = (user.locale if user is not None else None) or locale
    if _confirmed_owner(user, subscription.email):
        subscription.user_id = user.id
        subscription.status, subscription.confirmed_at = ACTIVE, now()
        subscription.confirm_hash, subscription.ended_at = None, None
        return "active"
    if _waiting(subscription):
        return "waiting"
    subscription.status = PENDING
    secret = secrets.token_urlsafe(32)
    subscription.confirm_hash, subscription.confirm_sent_at = _hash(secret), now()
    queue_mail(subscription.email, "travaux_subscribe_confirm", subscription.locale,
               incident=subscription.incident, services=subscription.services,
               all_services=subscription.all_services,
               url=absolute(url_for("travaux_subscriptions.confirm", secret=secret)),
               days=current_app.config["LIST_CONFIRM_DAYS"])
    return "sent"


def subscribe(email: str, services: list[Service], all_services: bool, locale: str | None,
              user=None) -> str:
    """Ask for mail about all of Travaux or about `services`. An address already subscribed
    is changed only from its manage page (its mails' link): a stranger typing it changes
    nothing. Returns what happened ("active", "sent", "waiting", "already"); the caller
    tells a guest the same whatever it is. Commits."""
    email = _normalize(email)
    subscription = general_subscription(email)
    if subscription is None:
        subscription = TravauxSubscription(email=email, token=secrets.token_urlsafe(32))
        db.session.add(subscription)
    elif subscription.status == ACTIVE and not _confirmed_owner(user, email):
        db.session.commit()
        return "already"
    elif _waiting(subscription) and not _confirmed_owner(user, email):
        return "waiting"  # and the link on its way confirms what it says, nothing else
    subscription.all_services = all_services
    subscription.services = [] if all_services else list(services)
    outcome = _ask(subscription, locale, user)
    db.session.commit()
    return outcome


def subscribe_incident(email: str, incident: Incident, locale: str | None, user=None) -> str:
    """Ask for the mail of one incident until it closes (its closing mail is the last).
    SubscriptionError("closed") when it is closed already. Returns as `subscribe`. Commits."""
    if incident.is_closed:
        raise SubscriptionError("closed")
    email = _normalize(email)
    subscription = db.session.scalar(select(TravauxSubscription).where(
        TravauxSubscription.email == email, TravauxSubscription.incident_id == incident.id))
    if subscription is None:
        subscription = TravauxSubscription(email=email, incident=incident,
                                           token=secrets.token_urlsafe(32))
        db.session.add(subscription)
    elif subscription.status == ACTIVE:
        db.session.commit()
        return "already"
    outcome = _ask(subscription, locale, user)
    db.session.commit()
    return outcome


def confirm(secret: str) -> TravauxSubscription:
    """Follow a confirmation link: single use, within LIST_CONFIRM_DAYS, and for an incident
    only while it is open. Commits."""
    subscription = db.session.scalar(select(TravauxSubscription).where(
        TravauxSubscription.confirm_hash == _hash(secret)))
    if subscription is None:
        raise SubscriptionError("invalid")
    if now() - subscription.confirm_sent_at > timedelta(
            days=current_app.config["LIST_CONFIRM_DAYS"]):
        raise SubscriptionError("expired")
    if subscription.incident is not None and subscription.incident.is_closed:
        raise SubscriptionError("closed")
    subscription.status, subscription.confirmed_at = ACTIVE, now()
    subscription.confirm_hash = None
    db.session.commit()
    return subscription


# Managing, by the token of a mail's links ---------------------------------------------------

def travaux_list():
    """The Travaux mailing list, whose subscribers receive all of Travaux (None if gone)."""
    return lists.get_list("travaux")


def for_token(token: str) -> TravauxSubscription | Subscription | None:
    """The subscription behind a mail's manage or unsubscribe link: a Travaux subscription,
    or a subscription to the Travaux list; None for anything else."""
    found = db.session.scalar(select(TravauxSubscription).where(
        TravauxSubscription.token == token))
    if found is not None:
        return found
    subscription = lists.subscription_for_token(token)
    mailing_list = travaux_list()
    if subscription is None or mailing_list is None or subscription.list_id != mailing_list.id:
        return None
    return subscription


def change_services(subscription: TravauxSubscription | Subscription, all_services: bool,
                    services: list[Service]) -> TravauxSubscription:
    """Change what an active subscription receives; the mail's link is proof enough of the
    address, so no new confirmation. A Travaux list subscriber who narrows down leaves the
    list for a Travaux subscription (returned: its token is the manage link from then on).
    Commits."""
    if subscription.status != ACTIVE:
        raise SubscriptionError("inactive")
    if isinstance(subscription, Subscription):
        row = general_subscription(subscription.email)
        if row is None:
            row = TravauxSubscription(email=_normalize(subscription.email),
                                      token=secrets.token_urlsafe(32))
            db.session.add(row)
        row.user_id, row.locale = subscription.user_id, subscription.locale
        row.status, row.confirmed_at = ACTIVE, subscription.confirmed_at or now()
        row.confirm_hash, row.ended_at = None, None
        subscription.status, subscription.unsubscribed_at = UNSUBSCRIBED, now()
        subscription.confirm_hash = None
    else:
        if subscription.incident_id is not None:
            raise SubscriptionError("incident")
        row = subscription
    row.all_services = all_services
    row.services = [] if all_services else list(services)
    db.session.commit()
    return row


def unsubscribe(subscription: TravauxSubscription | Subscription) -> None:
    """End a subscription (the manage page's button, or RFC 8058's one-click POST). Commits."""
    if isinstance(subscription, Subscription):
        lists.unsubscribe(subscription)
        return
    if subscription.status not in (UNSUBSCRIBED, ENDED):
        subscription.status, subscription.ended_at = UNSUBSCRIBED, now()
    subscription.confirm_hash = None
    db.session.commit()


def follow_email_change(user, old_email: str | None = None, **_extra) -> None:
    """Move a member's Travaux subscriptions to their new, confirmed address, in the caller's
    transaction (the email change); those of `old_email` too when it is given (an address
    they had confirmed). Where the new address has its own row already, one row stays."""
    owned = TravauxSubscription.user_id == user.id
    if old_email is not None:
        owned = or_(owned, TravauxSubscription.email == old_email)
    rows = db.session.scalars(select(TravauxSubscription).where(owned)).all()
    for subscription in rows:
        clash = db.session.scalar(select(TravauxSubscription).where(
            TravauxSubscription.email == user.email,
            TravauxSubscription.id != subscription.id,
            TravauxSubscription.incident_id.is_(None) if subscription.incident_id is None
            else TravauxSubscription.incident_id == subscription.incident_id))
        if clash is not None:
            if clash.status != ACTIVE and subscription.status == ACTIVE:
                db.session.delete(clash)
                db.session.flush()
            else:
                clash.user_id = user.id
                db.session.delete(subscription)
                continue
        subscription.email, subscription.user_id = user.email, user.id
        if subscription.status != ACTIVE:
            subscription.confirm_hash = None  # a link mailed to the old address dies


# What is mailed ----------------------------------------------------------------------------

def queue_notice(event) -> None:
    """The events listener: for an event the admin asked to mail (the worker's own always
    ask), the notice archived in the Travaux list and one fan-out job, in the transaction of
    the change. An event not mailed that closes an operation still goes, as their last mail,
    to the subscribers of that operation alone."""
    if event.type not in MAILED or event.incident is None:
        return
    payload = {"type": event.type, "incident_id": event.incident.id,
               "update_id": event.update.id if event.update is not None else None,
               "data": dict(event.data), "at": event.at.isoformat()}
    if event.notify:
        with nullcontext() if has_request_context() else site_context():
            message = _archive(event.type, event.incident, event.update, payload["data"])
        queue(NOTICE, {**payload, "audience": "all",
                       "message_id": message.id if message is not None else None})
    elif event.type in CLOSING and db.session.scalar(select(TravauxSubscription.id).where(
            TravauxSubscription.incident_id == event.incident.id,
            TravauxSubscription.status == ACTIVE).limit(1)) is not None:
        queue(NOTICE, {**payload, "audience": "incident", "message_id": None})


@dataclass(frozen=True)
class Recipient:
    email: str
    locale: str
    reason: str  # "list", "all", "services" or "incident": what the footer says
    manage: str
    unsubscribe: str


def _link(endpoint: str):
    """token -> the absolute URL of `endpoint` for it, url_for called once (10,000 mails)."""
    before, _mark, after = absolute(url_for(endpoint, token="TOKEN")).partition("TOKEN")
    return lambda token: before + token + after


def recipients(incident: Incident, audience: str = "all") -> list[Recipient]:
    """Who receives a notice about `incident`, once each (by normalised address): the Travaux
    list's subscribers, the subscribers to all of Travaux or to one of its services, and those
    of the incident; with `audience="incident"` only the latter. Members get their account's
    language. Three queries, whatever the number."""
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    found: dict[str, Recipient] = {}

    def add(rows, reason_of, manage_of, unsubscribe_of) -> None:
        for email, token, locale, user_locale, flag in rows:
            key = _normalize(email)
            if key in found:
                continue
            language = user_locale or locale
            found[key] = Recipient(email, language if language in languages else default,
                                   reason_of(flag), manage_of(token), unsubscribe_of(token))

    ours = (_link("travaux_subscriptions.manage"), _link("travaux_subscriptions.unsubscribe"))
    mailing_list = travaux_list()
    if audience == "all" and mailing_list is not None:
        add(db.session.execute(
            select(Subscription.email, Subscription.token, Subscription.locale, User.locale,
                   Subscription.id)
            .outerjoin(User, User.id == Subscription.user_id)
            .where(Subscription.list_id == mailing_list.id, Subscription.status == ACTIVE)),
            lambda _flag: "list", ours[0], _link("lists.unsubscribe"))
    if audience == "all":
        service_ids = [s.id for s in incident.services]
        chosen = select(subscription_services.c.subscription_id).where(
            subscription_services.c.service_id.in_(service_ids))
        add(db.session.execute(
            select(TravauxSubscription.email, TravauxSubscription.token,
                   TravauxSubscription.locale, User.locale, TravauxSubscription.all_services)
            .outerjoin(User, User.id == TravauxSubscription.user_id)
            .where(TravauxSubscription.status == ACTIVE,
                   TravauxSubscription.incident_id.is_(None),
                   or_(TravauxSubscription.all_services.is_(True),
                       and_(TravauxSubscription.all_services.is_(False),
                            TravauxSubscription.id.in_(chosen))))
            .order_by(TravauxSubscription.id)),
            lambda everything: "all" if everything else "services", *ours)
    add(db.session.execute(
        select(TravauxSubscription.email, TravauxSubscription.token,
               TravauxSubscription.locale, User.locale, TravauxSubscription.id)
        .outerjoin(User, User.id == TravauxSubscription.user_id)
        .where(TravauxSubscription.status == ACTIVE,
               TravauxSubscription.incident_id == incident.id)
        .order_by(TravauxSubscription.id)),
        lambda _flag: "incident", *ours)
    return list(found.values())


def _public_thread(incident: Incident):
    thread = incident.source_thread
    return thread if thread is not None and can_see_thread(GUEST, thread) else None


def _previous_window(data: dict):
    start, end = data.get("previous_start"), data.get("previous_end")
    if not start:
        return None
    return datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None


HEADLINES = {
    "incident.opened": _l("New incident"), "incident.updated": _l("Incident update"),
    "incident.resolved": _l("Incident resolved"),
    "maintenance.announced": _l("Maintenance announced"),
    "maintenance.updated": _l("Maintenance update"),
    "maintenance.rescheduled": _l("Maintenance rescheduled"),
    "maintenance.cancelled": _l("Maintenance cancelled"),
    "maintenance.started": _l("Maintenance started"),
    "maintenance.completed": _l("Maintenance completed"),
}


def lead_words(minutes: int) -> str:
    """A reminder's lead in words: « 24 heures », « 1 heure », « 30 minutes »."""
    if minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def _headline(event_type: str, data: dict) -> str:
    if event_type == "maintenance.reminder":
        return _("Reminder: the maintenance starts in %(lead)s",
                 lead=lead_words(int(data.get("lead_minutes") or 0)))
    return str(HEADLINES[event_type])


def _context(event_type: str, incident: Incident, update: IncidentUpdate | None,
             data: dict) -> dict:
    """What the notice template needs, in the current language."""
    thread = _public_thread(incident)
    previous = _previous_window(data)
    status = update.status if update is not None else travaux.current_status(incident)
    return {
        "event": event_type, "incident": incident, "update": update,
        "headline": _headline(event_type, data),
        "subject": _("%(headline)s: %(title)s", headline=_headline(event_type, data),
                     title=incident.title),
        "kind": travaux.kind_label(incident.kind), "status": travaux.status_label(status),
        "impact": travaux.impact_in_words(incident.impact),
        "services": ", ".join(s.name for s in incident.services),
        "window": long_window(incident.window_start, incident.window_end)
        if incident.is_maintenance and incident.window_start else None,
        "previous_window": long_window(*previous) if previous else None,
        "page": absolute(url_for("travaux.incident", incident_id=incident.id)),
        "thread": absolute(url_for("forum.thread", thread_id=thread.id, slug=thread.slug))
        if thread is not None else None,
    }


def render_notice(event_type: str, incident: Incident, update: IncidentUpdate | None,
                  data: dict, locale: str, reason: str) -> Mail:
    """One event's mail in `locale`, its manage and unsubscribe links left as marks."""
    with force_locale(locale):
        context = _context(event_type, incident, update, data)
    return render_mail("travaux_event", locale, reason=reason, manage=MANAGE_MARK,
                       unsubscribe=UNSUBSCRIBE_MARK, **context)


def _archive(event_type: str, incident: Incident, update: IncidentUpdate | None,
             data: dict):
    """Keep the notice in the Travaux list's archive, as the list always did: its Markdown,
    in the site's language."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        context = _context(event_type, incident, update, data)
        body = render_template("mail/travaux_notice.md", **{
            **context, "services": ", ".join(escape_md(s.name) for s in incident.services)})
    author = update.author if update is not None else None
    return lists.add_archived_notice("travaux", author, context["subject"],
                                     body.strip() + "\n")


def fan_out(payload: dict) -> None:
    """The worker's half of a notice: the recipients read once, one mail each (with the
    links of the subscription it is sent for) queued in one INSERT; the archived notice
    marked sent; the incident's subscriptions ended when it closes it. In the job's
    transaction (two workers never run one job twice: the outbox locks its row)."""
    incident = db.session.get(Incident, payload["incident_id"])
    if incident is None:
        return
    update = db.session.get(IncidentUpdate, payload["update_id"]) \
        if payload.get("update_id") else None
    event_type, data = payload["type"], payload.get("data") or {}
    audience = payload.get("audience", "all")
    mailing_list = travaux_list()
    headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "Precedence": "list",
               "Auto-Submitted": "auto-generated"}
    if mailing_list is not None:
        headers["List-Id"] = lists.list_id(mailing_list)
        headers["List-Archive"] = "<" + absolute(url_for("lists.archive", slug="travaux")) + ">"
    rendered: dict[tuple[str, str], Mail] = {}
    mails = []
    for person in recipients(incident, audience):
        key = (person.locale, person.reason)
        if key not in rendered:
            rendered[key] = render_notice(event_type, incident, update, data, *key)
        template = rendered[key]
        text, html = template.text, template.html
        for mark, url in ((MANAGE_MARK, person.manage), (UNSUBSCRIBE_MARK, person.unsubscribe)):
            text, html = text.replace(mark, url), html.replace(mark, url)
        mails.append(Mail(to=person.email, subject=template.subject, text=text, html=html,
                          headers={**headers, "List-Unsubscribe": f"<{person.unsubscribe}>"}))
    sent = queue_many(mails)
    if payload.get("message_id"):
        lists.notice_sent(payload["message_id"], sent)
    if event_type in CLOSING:
        db.session.execute(
            sql_update(TravauxSubscription)
            .where(TravauxSubscription.incident_id == incident.id,
                   TravauxSubscription.status.in_((ACTIVE, PENDING)))
            .values(status=ENDED, ended_at=now(), confirm_hash=None),
            execution_options={"synchronize_session": False})



# Reminders ------------------------------------------------------------------------------

def reminder_leads() -> list[int]:
    """TRAVAUX_REMINDERS as minutes, longest first ("1440,60": a day and an hour ahead)."""
    raw = str(current_app.config.get("TRAVAUX_REMINDERS", "1440,60"))
    return sorted({int(part) for part in raw.replace(" ", "").split(",") if part.isdigit()
                   and int(part) > 0}, reverse=True)


def send_reminders() -> int:
    """Emit `maintenance.reminder` for each scheduled maintenance whose start is within a
    lead of TRAVAUX_REMINDERS: once per lead and planned start (a rescheduled one is
    reminded of its new start), never for one announced less than that lead ahead, never
    after its start; when several leads are due at once (the worker was down), only the
    shortest is mailed. A worker task; commits, and returns how many were emitted."""
    leads = reminder_leads()
    if not leads:
        return 0
    moment = now()
    horizon = moment + timedelta(minutes=leads[0])
    candidates = db.session.scalars(select(Incident).where(
        Incident.kind == MAINTENANCE, Incident.resolved_at.is_(None),
        Incident.status.not_in(CLOSED),
        Incident.window_start > moment, Incident.window_start <= horizon)
        .order_by(Incident.window_start, Incident.id)).all()
    emitted = 0
    for incident in candidates:
        start = incident.window_start
        assert start is not None  # the query's condition
        due = [lead for lead in leads if start - moment <= timedelta(minutes=lead)
               and start - incident.created_at >= timedelta(minutes=lead)]
        if not due:
            continue
        sent = set(db.session.scalars(select(MaintenanceReminder.lead_minutes).where(
            MaintenanceReminder.incident_id == incident.id,
            MaintenanceReminder.window_start == start)))
        fresh = [lead for lead in due if lead not in sent]
        if not fresh:
            continue
        try:
            with db.session.begin_nested():  # another worker got there first: it is its own
                db.session.add_all([MaintenanceReminder(
                    incident_id=incident.id, lead_minutes=lead,
                    window_start=start, sent_at=moment) for lead in fresh])
        except IntegrityError:
            continue
        if min(fresh) == min(due):
            events.emit("maintenance.reminder", incident=incident, notify=True,
                        lead_minutes=min(fresh))
            emitted += 1
    db.session.commit()
    return emitted


def init_app(app) -> None:
    """The subscription pages, the events listener and its fan-out handler, the reminders
    task, and members' addresses followed when they change."""
    from board.accounts.services import email_changed
    from board.outbox.services import add_handler, add_task
    from board.travaux import subscribe_views

    app.register_blueprint(subscribe_views.bp)
    events.add_listener(app, queue_notice, domain="travaux")
    add_handler(app, NOTICE, fan_out, domain="travaux")
    add_task(app, send_reminders, domain="travaux")
    email_changed.connect(follow_email_change)
