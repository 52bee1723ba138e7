"""Mailing list operations: double opt-in, one-click unsubscribe, moderation, fan-out.

Every mail goes through the outbox: a subscription's confirmation in the transaction that asks
for it, a list message as one outbox job that the worker fans out into one mail per recipient
(each with its own unsubscribe link) in a single transaction.
"""

import hashlib
import re
import secrets
from datetime import timedelta
from email.utils import getaddresses, parseaddr

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert, or_, select, text, update

from board.audit import record
from board.clock import now
from board.extensions import db
from board.lists.models import AllowedSender, ListMessage, MailingList, Subscription
from board.markup import render
from board.outbox.mail import new_message_id
from board.outbox.models import OutboxMessage
from board.outbox.services import handler, queue, queue_mail
from board.urls import absolute

# The two lists every install has (created by the migrations, and again by ensure_lists).
DEFAULT_LISTS = [
    ("informations", "Informations", 1,
     "Les nouvelles de l'association : nouvelles offres, informations importantes. "
     "Quelques messages par an."),
    ("travaux", "Travaux", 2,
     "Les maintenances importantes annoncées à l'avance, et des nouvelles rapides pendant "
     "un incident."),
]
UNSUBSCRIBE_MARK = "__UNSUBSCRIBE_URL__"
RESEND_DELAY = timedelta(minutes=10)


class ListError(ValueError):
    """A refused request; str(error) is a code the views turn into a message."""


def ensure_lists() -> None:
    """Create the default lists that are missing (the migrations do it on a fresh install)."""
    existing = set(db.session.scalars(select(MailingList.slug)))
    for slug, name, position, description in DEFAULT_LISTS:
        if slug not in existing:
            db.session.add(MailingList(slug=slug, name=name, position=position,
                                       description=description))
    db.session.commit()


def all_lists() -> list[MailingList]:
    return db.session.scalars(select(MailingList).order_by(MailingList.position)).all()


def get_list(slug: str) -> MailingList | None:
    return db.session.scalar(select(MailingList).where(MailingList.slug == slug))


def _domain() -> str:
    domain = current_app.config["LISTS_DOMAIN"]
    return domain or parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2]


def posting_address(mailing_list: MailingList) -> str:
    return f"{mailing_list.slug}@{_domain()}"


def list_id(mailing_list: MailingList) -> str:
    """The stable List-Id (RFC 2919) of a list."""
    return f"{mailing_list.name} <{mailing_list.slug}.{_domain()}>"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _normalize(email: str) -> str:
    return email.strip().lower()


# Subscribing ----------------------------------------------------------------------------

def _subscription(mailing_list: MailingList, email: str) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(
        Subscription.list_id == mailing_list.id, Subscription.email == email))


def subscribe(email: str, lists: list[MailingList], locale: str | None, user=None) -> None:
    """Ask to join `lists`: one confirmation mail per list not yet joined. The caller shows the
    same answer whatever the address's state, so nobody learns who is subscribed."""
    email = _normalize(email)
    for mailing_list in lists:
        subscription = _subscription(mailing_list, email)
        if subscription is None:
            subscription = Subscription(list=mailing_list, email=email,
                                        token=secrets.token_urlsafe(32))
            db.session.add(subscription)
        elif subscription.status == "active":
            continue
        elif (subscription.status == "pending" and subscription.confirm_sent_at
              and now() - subscription.confirm_sent_at < RESEND_DELAY):
            continue  # a confirmation went out moments ago: no mail bombing through us
        subscription.status = "pending"
        subscription.locale = locale
        if user is not None and user.email == email and user.is_confirmed:
            subscription.user_id = user.id
        secret = secrets.token_urlsafe(32)
        subscription.confirm_hash = _hash(secret)
        subscription.confirm_sent_at = now()
        queue_mail(email, "list_confirm", locale, mailing_list=mailing_list,
                   url=absolute(url_for("lists.confirm", secret=secret)),
                   days=current_app.config["LIST_CONFIRM_DAYS"])
    db.session.commit()


def confirm(secret: str) -> Subscription:
    """Follow a confirmation link: single use, and only within LIST_CONFIRM_DAYS."""
    subscription = db.session.scalar(select(Subscription).where(
        Subscription.confirm_hash == _hash(secret)))
    if subscription is None:
        raise ListError("invalid")
    age = now() - subscription.confirm_sent_at
    if age > timedelta(days=current_app.config["LIST_CONFIRM_DAYS"]):
        raise ListError("expired")
    subscription.status = "active"
    subscription.confirmed_at = now()
    subscription.confirm_hash = None
    db.session.commit()
    return subscription


def subscription_for_token(token: str) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(Subscription.token == token))


def unsubscribe(subscription: Subscription) -> None:
    if subscription.status != "unsubscribed":
        subscription.status = "unsubscribed"
        subscription.unsubscribed_at = now()
        subscription.confirm_hash = None
    db.session.commit()


def member_subscriptions(user) -> dict[int, Subscription]:
    """The member's subscriptions by list id (by account, or by their current address). An
    address nobody confirmed is only typed: what it receives is none of the account's business."""
    if not user.is_confirmed:
        return {}
    rows = db.session.scalars(select(Subscription).where(
        or_(Subscription.user_id == user.id, Subscription.email == user.email))).all()
    return {row.list_id: row for row in rows}


def set_member_subscriptions(user, slugs: set[str], locale: str | None = None) -> None:
    """A member's confirmed address needs no second confirmation: changes apply at once."""
    if not user.is_confirmed:
        raise ListError("unconfirmed")
    current = member_subscriptions(user)
    for mailing_list in all_lists():
        subscription = current.get(mailing_list.id)
        wanted = mailing_list.slug in slugs
        if wanted and (subscription is None or subscription.status != "active"):
            if subscription is None:
                subscription = Subscription(list=mailing_list, email=user.email,
                                            token=secrets.token_urlsafe(32))
                db.session.add(subscription)
            subscription.status, subscription.confirmed_at = "active", now()
            subscription.user_id, subscription.locale = user.id, user.locale or locale
            subscription.confirm_hash = None
        elif not wanted and subscription is not None and subscription.status != "unsubscribed":
            subscription.status, subscription.unsubscribed_at = "unsubscribed", now()
    db.session.commit()


def follow_email_change(user, old_email: str | None) -> None:
    """Move a member's subscriptions to their new, confirmed address (caller commits). Those of
    `old_email` come along only when it is given: an address the member had confirmed."""
    owned = Subscription.user_id == user.id
    if old_email is not None:
        owned = or_(owned, Subscription.email == old_email)
    rows = db.session.scalars(select(Subscription).where(owned)).all()
    for subscription in rows:
        clash = _subscription(subscription.list, user.email)
        if clash is not None and clash.id != subscription.id:
            # The new address was already on this list: keep one row, the more engaged one.
            if clash.status != "active" and subscription.status == "active":
                clash.status, clash.confirmed_at = "active", subscription.confirmed_at
            clash.user_id = user.id
            db.session.delete(subscription)
            continue
        subscription.email, subscription.user_id = user.email, user.id
        if subscription.status != "active":
            # A link mailed to the old address must not subscribe the new one.
            subscription.confirm_hash = None


# Messages -------------------------------------------------------------------------------

def compose(mailing_list: MailingList, author, subject: str, body: str) -> ListMessage:
    """A message written on the site by an admin: held like any other."""
    message = ListMessage(list=mailing_list, subject=subject.strip(), body_source=body,
                          body_html=render(body), origin="compose", author_id=author.id,
                          author_name=author.name, author_email=author.email)
    db.session.add(message)
    db.session.commit()
    return message


def hold_mail(mailing_list: MailingList, sender: str, subject: str, body: str) -> ListMessage:
    """A message received by mail from an allowed sender: held for approval."""
    if not subject.strip():
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _("(no subject)")
    message = ListMessage(list=mailing_list, subject=subject.strip()[:200],
                          body_source=body, body_html=render(body), origin="mail",
                          author_name=sender, author_email=sender)
    db.session.add(message)
    db.session.commit()
    return message


_PLAIN_ADDRESS = re.compile(r"[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def plain_address(line: str) -> str | None:
    """The one address on `line` ("Name <a@b.org>" or "a@b.org"), lower-cased, or None."""
    found = getaddresses([line])
    if len(found) != 1 or not _PLAIN_ADDRESS.fullmatch(found[0][1]):
        return None
    return _normalize(found[0][1])


def is_allowed_sender(mailing_list: MailingList, email: str) -> bool:
    return db.session.scalar(select(AllowedSender.id).where(
        AllowedSender.list_id == mailing_list.id,
        AllowedSender.email == _normalize(email))) is not None


def _decide(message: ListMessage, admin, status: str) -> None:
    """Move a held message to `status`: one conditional UPDATE, so that of two admins
    deciding at the same moment, exactly one wins and the other is told it is decided."""
    decided = db.session.execute(
        update(ListMessage).where(ListMessage.id == message.id, ListMessage.status == "held")
        .values(status=status, decided_at=now(), decided_by_id=admin.id))
    if decided.rowcount != 1:
        db.session.rollback()
        raise ListError("decided")
    db.session.refresh(message)


def approve(message: ListMessage, admin) -> None:
    """Approve a held message: it fans out through the outbox, and its author is told."""
    _decide(message, admin, "approved")
    queue("list_fanout", {"message_id": message.id})
    _tell_author(message, admin)
    record(admin, "list.approve", "list_message", message.id, list=message.list.slug)
    db.session.commit()


def reject(message: ListMessage, admin, reason: str) -> None:
    _decide(message, admin, "rejected")
    message.reason = reason.strip()
    _tell_author(message, admin)
    record(admin, "list.reject", "list_message", message.id, list=message.list.slug)
    db.session.commit()


def _tell_author(message: ListMessage, admin) -> None:
    if message.author_email and message.author_id != admin.id:
        queue_mail(message.author_email, "list_decision", None, message=message,
                   archive=absolute(url_for("lists.archive", slug=message.list.slug)))


def post_notice(slug: str, author, subject: str, body: str) -> ListMessage | None:
    """Staff posting (a Travaux notice): the admin's action is the approval. Caller commits."""
    mailing_list = get_list(slug)
    if mailing_list is None:
        return None
    message = ListMessage(list=mailing_list, subject=subject, body_source=body,
                          body_html=render(body), origin="travaux", author_id=author.id,
                          author_name=author.name, author_email=author.email,
                          status="approved", decided_at=now(), decided_by_id=author.id)
    db.session.add(message)
    db.session.flush()
    queue("list_fanout", {"message_id": message.id})
    record(author, "list.notice", "list_message", message.id, list=slug)
    return message


@handler("list_fanout")
def fan_out(payload: dict) -> None:
    """One mail per active subscriber, each with its own unsubscribe link, in one go."""
    # Locked: two workers must never fan the same message out twice.
    message = db.session.get(ListMessage, payload["message_id"], with_for_update=True)
    if message is None or message.status != "approved":
        return
    mailing_list = message.list
    recipients = db.session.execute(select(
        Subscription.email, Subscription.token, Subscription.locale).where(
        Subscription.list_id == mailing_list.id, Subscription.status == "active")).all()
    mail_from = current_app.config["MAIL_FROM"]
    rendered, rows, moment = {}, [], now()
    for email, token, locale in recipients:
        locale = locale if locale in current_app.config["LANGUAGES"] else \
            current_app.config["BABEL_DEFAULT_LOCALE"]
        if locale not in rendered:
            rendered[locale] = _render_list_mail(message, locale)
        subject, text_part, html_part = rendered[locale]
        unsubscribe = absolute(url_for("lists.unsubscribe", token=token))
        rows.append({"kind": "mail", "created_at": moment, "due_at": moment, "attempts": 0,
                     "payload": {
                         "to": email, "subject": subject, "message_id": new_message_id(mail_from),
                         "text": text_part.replace(UNSUBSCRIBE_MARK, unsubscribe),
                         "html": html_part.replace(UNSUBSCRIBE_MARK, unsubscribe),
                         "headers": {
                             "List-Id": list_id(mailing_list),
                             "List-Unsubscribe": f"<{unsubscribe}>",
                             "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                             "List-Post": "NO",
                             "List-Archive": "<" + absolute(url_for(
                                 "lists.archive", slug=mailing_list.slug)) + ">",
                             "Precedence": "list",
                         }}})
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
        if len(rows) > 500 and db.engine.dialect.name == "postgresql":
            # Fresh statistics after a bulk load, so workers pick rows by index, not by sort.
            db.session.execute(text("ANALYZE outbox"))
    message.status, message.sent_at, message.recipients = "sent", now(), len(rows)


def _render_list_mail(message: ListMessage, locale: str) -> tuple[str, str, str]:
    context = {"message": message, "mailing_list": message.list,
               "unsubscribe": UNSUBSCRIBE_MARK,
               "archive": absolute(url_for("lists.archive", slug=message.list.slug))}
    with force_locale(locale):
        text = render_template("mail/list_message.txt", **context)
        html = render_template("mail/list_message.html", **context)
    subject = f"[{message.list.name}] {message.subject}"
    return subject, text.partition("\n")[2].lstrip("\n"), html


def update_settings(mailing_list: MailingList, admin, description: str, senders: list[str]):
    """Change a list's description and the addresses allowed to post to it."""
    mailing_list.description = description.strip()
    wanted = {_normalize(s) for s in senders if s.strip()}
    for sender in list(mailing_list.senders):
        if sender.email not in wanted:
            mailing_list.senders.remove(sender)
    known = {s.email for s in mailing_list.senders}
    for email in sorted(wanted - known):
        mailing_list.senders.append(AllowedSender(email=email))
    record(admin, "list.settings", "list", mailing_list.id, senders=sorted(wanted))
    db.session.commit()
