"""The moderation log as staff read it: each audit row told as a sentence in the reader's
language, with a link to what it touched when the reader may see it.

`ACTIONS` is the one table of the codes the code base records (`record(actor, code, ...)`).
Targets are named by one query per kind of target on the page: the forum names its own and
those of the domains to its left; Travaux adds its incidents and services at start-up
(`add_target`), since the forum may not import it.
"""

import re
from collections.abc import Callable, Iterable
from datetime import date

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select

from board.accounts.models import User
from board.audit import AuditLog
from board.extensions import db
from board.forum.models import Board, Post, Thread
from board.lists.models import ListMessage, MailingList
from board.permissions import is_admin
from board.visibility import (
    visible_boards,
    visible_list_messages,
    visible_posts,
    visible_threads,
)

# code -> (what the filter shows, the sentence the log shows). The sentence names the actor
# and the target; some use a detail of the row as well.
ACTIONS = {
    "post.edit": (_l("Message edited"), _l("%(actor)s edited a message in %(target)s")),
    "post.hide": (_l("Message hidden"), _l("%(actor)s hid a message in %(target)s")),
    "post.unhide": (_l("Message shown again"),
                    _l("%(actor)s made a message visible again in %(target)s")),
    "flag.auto_hide": (_l("Message hidden by flags"), _l(
        "%(actor)s hid a message in %(target)s: enough members flagged it")),
    "flag.hide": (_l("Flags upheld"),
                  _l("%(actor)s upheld the flags and hid a message in %(target)s")),
    "flag.keep": (_l("Flags dismissed"),
                  _l("%(actor)s dismissed the flags on a message in %(target)s")),
    "flag.warn": (_l("Author warned"),
                  _l("%(actor)s warned the author of a message in %(target)s")),
    "thread.lock": (_l("Thread locked"), _l("%(actor)s locked the thread %(target)s")),
    "thread.unlock": (_l("Thread unlocked"), _l("%(actor)s unlocked the thread %(target)s")),
    "thread.pin": (_l("Thread pinned"), _l("%(actor)s pinned the thread %(target)s")),
    "thread.unpin": (_l("Thread unpinned"), _l("%(actor)s unpinned the thread %(target)s")),
    "thread.hide": (_l("Thread hidden"), _l("%(actor)s hid the thread %(target)s")),
    "thread.unhide": (_l("Thread shown again"),
                      _l("%(actor)s made the thread %(target)s visible again")),
    "thread.move": (_l("Thread moved"), _l(
        "%(actor)s moved the thread %(target)s from %(source)s to %(destination)s")),
    "thread.merge": (_l("Thread merged"), _l(
        "%(actor)s marked the thread %(target)s as a duplicate of %(thread)s")),
    "thread.service": (_l("Report's service changed"),
                       _l("%(actor)s changed the service of the report %(target)s")),
    "thread.solve": (_l("Solution marked"),
                     _l("%(actor)s marked the solution of the thread %(target)s")),
    "thread.unsolve": (_l("Solution unmarked"),
                       _l("%(actor)s removed the solution of the thread %(target)s")),
    "board.create": (_l("Board created"), _l("%(actor)s created the board %(target)s")),
    "board.update": (_l("Board changed"), _l("%(actor)s changed the board %(target)s")),
    "incident.open": (_l("Incident or maintenance opened"), _l("%(actor)s opened %(target)s")),
    "incident.promote": (_l("Thread promoted"),
                         _l("%(actor)s turned the thread %(thread)s into %(target)s")),
    "incident.update": (_l("Incident update"),
                        _l("%(actor)s posted an update to %(target)s: %(status)s")),
    "incident.reschedule": (_l("Maintenance rescheduled"),
                            _l("%(actor)s moved the window of %(target)s")),
    "incident.link": (_l("Thread linked"),
                      _l("%(actor)s linked the thread %(thread)s to %(target)s")),
    "incident.unlink": (_l("Thread unlinked"),
                        _l("%(actor)s unlinked the thread %(thread)s from %(target)s")),
    "api.open": (_l("Incident opened through the API"),
                 _l("%(actor)s opened %(target)s through the API")),
    "api.update": (_l("Incident updated through the API"),
                   _l("%(actor)s updated %(target)s through the API")),
    "service.create": (_l("Service created"), _l("%(actor)s created the service %(target)s")),
    "service.update": (_l("Service changed"), _l("%(actor)s changed the service %(target)s")),
    "list.approve": (_l("List message approved"),
                     _l("%(actor)s approved the message %(target)s")),
    "list.reject": (_l("List message rejected"),
                    _l("%(actor)s rejected the message %(target)s")),
    "list.notice": (_l("Travaux notice sent"), _l("%(actor)s sent the notice %(target)s")),
    "list.settings": (_l("List settings changed"),
                      _l("%(actor)s changed the settings of the list %(target)s")),
    "user.create": (_l("Account created"), _l("%(actor)s created the account of %(target)s")),
    "user.role": (_l("Role changed"), _l(
        "%(actor)s changed the role of %(target)s from %(before)s to %(after)s")),
    "user.disable": (_l("Account disabled"),
                     _l("%(actor)s disabled the account of %(target)s")),
    "user.enable": (_l("Account enabled"),
                    _l("%(actor)s enabled the account of %(target)s again")),
    "token.create": (_l("API token created"),
                     _l("%(actor)s created an API token for %(target)s")),
    "token.revoke": (_l("API tokens revoked"),
                     _l("%(actor)s revoked the API tokens of %(target)s")),
    "webhook.create": (_l("Webhook endpoint registered"),
                       _l("%(actor)s registered the webhook endpoint %(target)s")),
    "webhook.update": (_l("Webhook endpoint changed"),
                       _l("%(actor)s changed the webhook endpoint %(target)s")),
    "webhook.delete": (_l("Webhook endpoint deleted"),
                       _l("%(actor)s deleted the webhook endpoint %(target)s")),
    "webhook.test": (_l("Webhook test event sent"),
                     _l("%(actor)s sent a test event to the webhook endpoint %(target)s")),
    "relay.update": (_l("Social relay changed"), _l("%(actor)s changed the social relay")),
    "template.create": (_l("Incident template created"),
                        _l("%(actor)s created the incident template %(target)s")),
    "template.update": (_l("Incident template changed"),
                        _l("%(actor)s changed the incident template %(target)s")),
    "template.delete": (_l("Incident template deleted"),
                        _l("%(actor)s deleted the incident template %(target)s")),
    "uptime.hide_marks": (_l("Members' reports of a day hidden"), _l(
        "%(actor)s hid the members' reports of %(day)s on %(target)s: %(reason)s")),
    "uptime.show_marks": (_l("Members' reports of a day shown again"), _l(
        "%(actor)s showed again the members' reports of %(day)s on %(target)s")),
    "incident.postmortem": (_l("Postmortem published"),
                            _l("%(actor)s published the postmortem of %(target)s")),
    "postmortem.action": (_l("Postmortem action item changed"),
                          _l("%(actor)s changed an action item of the postmortem of %(target)s")),
    "postmortem.action.remove": (_l("Postmortem action item removed"), _l(
        "%(actor)s removed an action item from the postmortem draft of %(target)s")),
    "incident.fixed_alert.dismiss": (_l("\"Still broken\" alert dismissed"), _l(
        "%(actor)s kept %(target)s resolved despite the \"still broken\" answers")),
}
# A code recorded by code newer than this table: still a sentence, with the code shown.
UNKNOWN = _l("%(actor)s: %(action)s on %(target)s")

ROLES = {"member": _l("Member"), "moderator": _l("Moderator"), "admin": _l("Administrator")}

# kind of target -> function(ids, viewer) -> {id: Markup naming it, a link when visible}
Resolver = Callable[[set[int], object], dict[int, Markup]]
_TARGETS: dict[str, Resolver] = {}
_STATUSES: dict[str, object] = {}


def add_target(kind: str, resolver: Resolver) -> None:
    """Name the targets of one kind in the log (called by a domain's start-up)."""
    _TARGETS[kind] = resolver


def named_by(id_column, name_column, endpoint: str, argument: str) -> Resolver:
    """A resolver naming rows by one column, linked for admins to `endpoint` (its id as
    `argument`): what a domain's own admin pages (services, templates, webhooks) give
    `add_target`. A deleted row is named by its number."""
    def resolve(ids, viewer) -> dict[int, Markup]:
        rows = db.session.execute(select(id_column, name_column).where(id_column.in_(ids)))
        admin = is_admin(viewer)
        return {row_id: link(name, url_for(endpoint, **{argument: row_id}) if admin else None)
                for row_id, name in rows}
    return resolve


def add_statuses(labels: dict) -> None:
    """The words of incident statuses, given by Travaux at start-up."""
    _STATUSES.update(labels)


def is_code(text: str) -> bool:
    """Whether `text` has the shape of an action code: « thread.lock »."""
    return re.fullmatch(r"[a-z_]{1,20}\.[a-z_]{1,19}", text) is not None


def action_choices() -> list[tuple[str, str]]:
    """(code, label) of every action, for the filter, in the reader's language."""
    return sorted(((code, str(label)) for code, (label, _s) in ACTIONS.items()),
                  key=lambda choice: choice[1])


def quoted(title: str) -> Markup:
    return escape(_("“%(title)s”", title=title))


def link(title: str, url: str | None) -> Markup:
    text = quoted(title)
    return Markup('<a href="{}">{}</a>').format(url, text) if url else text


def sentences(entries: Iterable[AuditLog], viewer) -> list[Markup]:
    """Each entry as a sentence; targets named in one query per kind of target."""
    entries = list(entries)
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        if entry.target_id is not None:
            wanted.setdefault(entry.target_type, set()).add(entry.target_id)
        if (entry.action.startswith("incident.") or entry.action == "thread.merge") and \
                isinstance(entry.details.get("thread"), int):
            wanted.setdefault("thread", set()).add(entry.details["thread"])
    names = {kind: _resolver(kind)(ids, viewer) for kind, ids in wanted.items()}
    return [_sentence(entry, names) for entry in entries]


def _sentence(entry: AuditLog, names: dict[str, dict[int, Markup]]) -> Markup:
    details = entry.details or {}

    def named(kind, target_id):
        return names.get(kind, {}).get(target_id) or escape(
            "" if target_id is None else f"#{target_id}")

    actor = entry.actor.name if entry.actor else _("The system")
    values = {
        "actor": Markup("<strong>{}</strong>").format(actor),
        "target": named(entry.target_type, entry.target_id),
        "action": Markup("<code>{}</code>").format(entry.action),
        "thread": named("thread", details.get("thread")),
        "source": quoted(str(details.get("source", ""))),
        "destination": quoted(str(details.get("target", ""))),
        "status": escape(str(_STATUSES.get(str(details.get("status")),
                                           details.get("status", "")))),
        "before": escape(str(ROLES.get(str(details.get("before")), details.get("before", "")))),
        "after": escape(str(ROLES.get(str(details.get("after")), details.get("after", "")))),
        "day": escape(_day(details.get("day"))),
        "reason": quoted(str(details.get("reason", ""))),
    }
    sentence = ACTIONS[entry.action][1] if entry.action in ACTIONS else UNKNOWN
    return escape(str(sentence)) % values


def _day(value) -> str:
    """A day recorded as ISO text, in the reader's words (as recorded if it is not one)."""
    try:
        return format_date(date.fromisoformat(str(value)), "long")
    except ValueError:
        return str(value or "")


def _resolver(kind: str) -> Resolver:
    return _TARGETS.get(kind) or _OWN.get(kind) or (lambda ids, viewer: {})


# The targets the forum names itself ------------------------------------------------------

def _posts(ids, viewer):
    """A message is named by its thread's title, and linked, when the reader sees both."""
    stmt = select(Post.id, Thread.title).join(Post.thread).where(Post.id.in_(ids))
    rows = db.session.execute(visible_threads(visible_posts(stmt, viewer), viewer)).all()
    return {post_id: link(title, url_for("forum.post", post_id=post_id))
            for post_id, title in rows}


def _threads(ids, viewer):
    rows = db.session.execute(visible_threads(
        select(Thread.id, Thread.title, Thread.slug).where(Thread.id.in_(ids)), viewer)).all()
    return {thread_id: link(title, url_for("forum.thread", thread_id=thread_id, slug=slug))
            for thread_id, title, slug in rows}


def _boards(ids, viewer):
    rows = db.session.execute(visible_boards(
        select(Board.id, Board.name, Board.slug).where(Board.id.in_(ids)), viewer)).all()
    return {bid: link(name, url_for("forum.board", slug=slug)) for bid, name, slug in rows}


def _users(ids, viewer):
    rows = db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()
    return {uid: Markup(escape(name)) for uid, name in rows}


def _list_messages(ids, viewer):
    rows = db.session.execute(
        select(ListMessage.id, ListMessage.subject, MailingList.slug,
               MailingList.name).join(ListMessage.list).where(ListMessage.id.in_(ids))).all()
    published = set(db.session.scalars(visible_list_messages(
        select(ListMessage.id).where(ListMessage.id.in_(ids)), viewer)))
    named = {}
    for mid, subject, slug, list_name in rows:
        url = url_for("lists.message", slug=slug, message_id=mid) if mid in published else None
        named[mid] = escape(_("%(subject)s on the list %(list)s")) % {
            "subject": link(subject, url), "list": list_name}
    return named


def _lists(ids, viewer):
    rows = db.session.execute(select(MailingList.id, MailingList.name, MailingList.slug)
                              .where(MailingList.id.in_(ids))).all()
    return {lid: link(name, url_for("lists.archive", slug=slug)) for lid, name, slug in rows}


_OWN: dict[str, Resolver] = {"post": _posts, "thread": _threads, "board": _boards,
                             "user": _users, "list_message": _list_messages, "list": _lists}
