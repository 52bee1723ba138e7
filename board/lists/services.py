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

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from board.audit import record
from board.clock import now
from board.extensions import db
from board.lists.models import (
    ACTIVE,
    APPROVED,
    HELD,
    PENDING,
    REJECTED,
    SENT,
    UNSUBSCRIBED,
    AllowedSender,
    ListMessage,
    MailingList,
    Subscription,
)
from board.markup import render
from board.outbox.services import Mail, queue, queue_mail, queue_many, render_mail
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
# A list message's text is held to a forum post's length (board.forum.forms.BODY_MAX).
BODY_MAX = 50_000
RESEND_DELAY = timedelta(minutes=10)


class ListError(ValueError):
    """A refused request; str(error) is a code the views turn into a message."""


def ensure_lists() -> None:
    """Create the default lists that are missing (the migrations do it on a fresh install).
    Commits."""
    existing = set(db.session.scalars(select(MailingList.slug)))
    for slug, name, position, description in DEFAULT_LISTS:
        if slug not in existing:
            db.session.add(MailingList(slug=slug, name=name, position=position,
                                       description=description))
    db.session.commit()


def all_lists() -> list[MailingList]:
    """Every list, in the order of the subscription form."""
    return db.session.scalars(select(MailingList).order_by(MailingList.position)).all()


def get_list(slug: str) -> MailingList | None:
    """The list named `slug`, or None."""
    return db.session.scalar(select(MailingList).where(MailingList.slug == slug))


def _domain() -> str:
    domain = current_app.config["LISTS_DOMAIN"]
    return domain or parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2]


def posting_address(mailing_list: MailingList) -> str:
    """The address that posts to the list by mail (held for approval)."""
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
    same answer whatever the address's state, so nobody learns who is subscribed. Commits."""
    email = _normalize(email)
    for mailing_list in lists:
        subscription = _subscription(mailing_list, email)
        if subscription is None:
            subscription = Subscription(list=mailing_list, email=email,
                                        token=secrets.token_urlsafe(32))
            db.session.add(subscription)
        elif subscription.status == ACTIVE:
            continue
        elif (subscription.status == PENDING and subscription.confirm_sent_at
              and now() - subscription.confirm_sent_at < RESEND_DELAY):
            continue  # a confirmation went out moments ago: no mail bombing through us
        subscription.status = PENDING
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
    """Follow a confirmation link: single use, and only within LIST_CONFIRM_DAYS. Commits."""
    subscription = db.session.scalar(select(Subscription).where(
        Subscription.confirm_hash == _hash(secret)))
    if subscription is None:
        raise ListError("invalid")
    age = now() - subscription.confirm_sent_at
    if age > timedelta(days=current_app.config["LIST_CONFIRM_DAYS"]):
        raise ListError("expired")
    subscription.status = ACTIVE
    subscription.confirmed_at = now()
    subscription.confirm_hash = None
    db.session.commit()
    return subscription


def subscription_for_token(token: str) -> Subscription | None:
    """The subscription behind an unsubscribe link's token, or None."""
    return db.session.scalar(select(Subscription).where(Subscription.token == token))


def unsubscribe(subscription: Subscription) -> None:
    """End a subscription (the link in every mail, or RFC 8058's one-click POST). Commits."""
    if subscription.status != UNSUBSCRIBED:
        subscription.status = UNSUBSCRIBED
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
    """A member's confirmed address needs no second confirmation: changes apply at once.
    Commits."""
    if not user.is_confirmed:
        raise ListError("unconfirmed")
    current = member_subscriptions(user)
    for mailing_list in all_lists():
        subscription = current.get(mailing_list.id)
        wanted = mailing_list.slug in slugs
        if wanted and (subscription is None or subscription.status != ACTIVE):
            if subscription is None:
                subscription = Subscription(list=mailing_list, email=user.email,
                                            token=secrets.token_urlsafe(32))
                db.session.add(subscription)
            subscription.status, subscription.confirmed_at = ACTIVE, now()
            subscription.user_id, subscription.locale = user.id, user.locale or locale
            subscription.confirm_hash = None
        elif not wanted and subscription is not None and subscription.status != UNSUBSCRIBED:
            subscription.status, subscription.unsubscribed_at = UNSUBSCRIBED, now()
    db.session.commit()


def follow_email_change(user, old_email: str | None) -> None:
    """Move a member's subscriptions to their new, confirmed address, in the caller's
    transaction (the email change). Those of `old_email` come along only when it is given:
    an address the member had confirmed."""
    owned = Subscription.user_id == user.id
    if old_email is not None:
        owned = or_(owned, Subscription.email == old_email)
    rows = db.session.scalars(select(Subscription).where(owned)).all()
    for subscription in rows:
        clash = _subscription(subscription.list, user.email)
        if clash is not None and clash.id != subscription.id:
            # The new address was already on this list: keep one row, the more engaged one.
            if clash.status != ACTIVE and subscription.status == ACTIVE:
                clash.status, clash.confirmed_at = ACTIVE, subscription.confirmed_at
            clash.user_id = user.id
            db.session.delete(subscription)
            continue
        subscription.email, subscription.user_id = user.email, user.id
        if subscription.status != ACTIVE:
            # A link mailed to the old address must not subscribe the new one.
            subscription.confirm_hash = None


# Messages -------------------------------------------------------------------------------

def compose(mailing_list: MailingList, author, subject: str, body: str) -> ListMessage:
    """A message written on the site by an admin: held like any other. Commits."""
    message = ListMessage(list=mailing_list, subject=subject.strip(), body_source=body,
                          body_html=render(body), origin="compose", author_id=author.id,
                          author_name=author.name, author_email=author.email)
    db.session.add(message)
    db.session.commit()
    return message


def hold_mail(mailing_lists: list[MailingList], sender: str, subject: str, body: str,
              from_header: str = "") -> list[ListMessage]:
    """A message received by mail from an allowed sender (the envelope's): one copy held for
    approval per list, all in one transaction (a retried delivery holds no duplicate), each
    with the From: header it carried, for the moderator to compare. Rendered once. Commits."""
    if not subject.strip():
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _("(no subject)")
    html = render(body)
    messages = [ListMessage(list=mailing_list, subject=subject.strip()[:200],
                            body_source=body, body_html=html, origin="mail",
                            author_name=sender, author_email=sender,
                            from_header=from_header[:320]) for mailing_list in mailing_lists]
    db.session.add_all(messages)
    db.session.commit()
    return messages


_PLAIN_ADDRESS = re.compile(r"[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def plain_address(line: str) -> str | None:
    """The one address on `line` ("Name <a@b.org>" or "a@b.org"), lower-cased, or None."""
    found = getaddresses([line])
    if len(found) != 1 or not _PLAIN_ADDRESS.fullmatch(found[0][1]):
        return None
    return _normalize(found[0][1])


def is_allowed_sender(mailing_list: MailingList, email: str) -> bool:
    """Whether `email` may post to the list by mail."""
    return db.session.scalar(select(AllowedSender.id).where(
        AllowedSender.list_id == mailing_list.id,
        AllowedSender.email == _normalize(email))) is not None


def _decide(message: ListMessage, admin, status: str) -> None:
    """Move a held message to `status`: one conditional UPDATE, so that of two admins
    deciding at the same moment, exactly one wins and the other is told it is decided."""
    decided = db.session.execute(
        update(ListMessage).where(ListMessage.id == message.id, ListMessage.status == HELD)
        .values(status=status, decided_at=now(), decided_by_id=admin.id))
    if decided.rowcount != 1:
        db.session.rollback()
        raise ListError("decided")
    db.session.refresh(message)


def approve(message: ListMessage, admin) -> None:
    """Approve a held message: it fans out through the outbox, and its author is told.
    Commits."""
    _decide(message, admin, APPROVED)
    queue("list_fanout", {"message_id": message.id})
    _tell_author(message, admin)
    record(admin, "list.approve", "list_message", message.id, list=message.list.slug)
    db.session.commit()


def reject(message: ListMessage, admin, reason: str) -> None:
    """Reject a held message with a reason its author is told. Commits."""
    _decide(message, admin, REJECTED)
    message.reason = reason.strip()
    _tell_author(message, admin)
    record(admin, "list.reject", "list_message", message.id, list=message.list.slug)
    db.session.commit()


def _tell_author(message: ListMessage, admin) -> None:
    if message.author_email and message.author_id != admin.id:
        queue_mail(message.author_email, "list_decision", None, message=message,
                   archive=absolute(url_for("lists.archive", slug=message.list.slug)))


def add_notice(slug: str, author, subject: str, body: str) -> ListMessage | None:
    """Staff posting (a Travaux notice), in the caller's transaction: the admin's action is
    the approval."""
    mailing_list = get_list(slug)
    if mailing_list is None:
        return None
    message = ListMessage(list=mailing_list, subject=subject, body_source=body,
                          body_html=render(body), origin="travaux", author_id=author.id,
                          author_name=author.name, author_email=author.email,
                          status=APPROVED, decided_at=now(), decided_by_id=author.id)
    db.session.add(message)
    db.session.flush()
    queue("list_fanout", {"message_id": message.id})
    record(author, "list.notice", "list_message", message.id, list=slug)
    return message


def add_archived_notice(slug: str, author, subject: str, body: str) -> ListMessage | None:
    """A notice whose mail another domain fans out itself (Travaux: one mail per address
    whatever the overlap of its subscriptions), kept in the list's archive, in the caller's
    transaction: approved by the admin's action (`author`; None for the worker's own, a
    reminder), no fan-out of the list's. `notice_sent` marks it sent."""
    mailing_list = get_list(slug)
    if mailing_list is None:
        return None
    message = ListMessage(list=mailing_list, subject=subject[:200], body_source=body,
                          body_html=render(body), origin="travaux", status=APPROVED,
                          decided_at=now(), author_name=mailing_list.name)
    if author is not None:
        message.author_id = message.decided_by_id = author.id
        message.author_name, message.author_email = author.name, author.email
    db.session.add(message)
    db.session.flush()
    if author is not None:
        record(author, "list.notice", "list_message", message.id, list=slug)
    return message


def notice_sent(message_id: int, recipients: int) -> None:
    """Mark an archived notice sent to `recipients`, in the caller's transaction (the
    fan-out that queued its mail)."""
    message = db.session.get(ListMessage, message_id)
    if message is not None and message.status == APPROVED:
        message.status, message.sent_at, message.recipients = SENT, now(), recipients


def fan_out(payload: dict) -> None:
    """The worker's half of an approved message: one mail per active subscriber, each with its
    own unsubscribe link, queued in one go."""
    # Locked: two workers must never fan the same message out twice.
    message = db.session.get(ListMessage, payload["message_id"], with_for_update=True)
    if message is None or message.status != APPROVED:
        return
    mailing_list = message.list
    recipients = db.session.execute(select(
        Subscription.email, Subscription.token, Subscription.locale).where(
        Subscription.list_id == mailing_list.id, Subscription.status == ACTIVE)).all()
    archive = "<" + absolute(url_for("lists.archive", slug=mailing_list.slug)) + ">"
    rendered: dict[str, Mail] = {}
    mails = []
    for email, token, locale in recipients:
        locale = locale if locale in current_app.config["LANGUAGES"] else \
            current_app.config["BABEL_DEFAULT_LOCALE"]
        if locale not in rendered:
            rendered[locale] = _render_list_mail(message, locale)
        template = rendered[locale]
        unsubscribe = absolute(url_for("lists.unsubscribe", token=token))
        mails.append(Mail(
            to=email, subject=template.subject,
            text=template.text.replace(UNSUBSCRIBE_MARK, unsubscribe),
            html=template.html.replace(UNSUBSCRIBE_MARK, unsubscribe),
            headers={"List-Id": list_id(mailing_list), "List-Unsubscribe": f"<{unsubscribe}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                     "List-Post": "NO", "List-Archive": archive, "Precedence": "list"}))
    message.recipients = queue_many(mails)
    message.status, message.sent_at = SENT, now()


def _render_list_mail(message: ListMessage, locale: str) -> Mail:
    mail = render_mail("list_message", locale, message=message, mailing_list=message.list,
                       unsubscribe=UNSUBSCRIBE_MARK,
                       archive=absolute(url_for("lists.archive", slug=message.list.slug)))
    mail.subject = f"[{message.list.name}] {message.subject}"
    return mail


def update_settings(mailing_list: MailingList, admin, description: str, senders: list[str]):
    """Change a list's description and the addresses allowed to post to it. Commits."""
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
