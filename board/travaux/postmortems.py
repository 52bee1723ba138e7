"""Postmortems: on a resolved incident an admin writes what happened and what changes now.

The draft is saved on the server as they type (board/travaux/postmortem_views.py); publishing
shows it on the incident page and in the feeds, posts it as an official post into every
linked thread, tells the events listeners ("incident.postmortem") and queues one outbox job,
whose handler (`fan_out`) mails it once to each member affected on a linked thread or
watching one, unless they opted out. Action items move on after publication, each change
dated. Operations commit and say so.
"""

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import delete, select, union
from sqlalchemy.orm import joinedload, selectinload

from board.accounts.models import User
from board.accounts.services import make_token
from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Affected, Thread, Watch
from board.markup import escape_md, excerpt, render
from board.outbox.services import Mail, queue, queue_many, render_mail
from board.travaux import events, services
from board.travaux.models import INCIDENT, Incident
from board.travaux.postmortem_models import (
    ACTION_STATUSES,
    PLANNED,
    ActionChange,
    ActionItem,
    Postmortem,
    PostmortemOptOut,
)
from board.travaux.services import TravauxError
from board.urls import absolute

MAIL = "postmortem_mail"  # the outbox kind of one publication's fan-out
BODY_MAX = 50_000
ACTION_MAX = 300
ACTION_LABELS = {"planned": _l("Planned"), "in_progress": _l("In progress"), "done": _l("Done")}


def action_label(status: str) -> str:
    """An action item's status in words, in the current language."""
    return str(ACTION_LABELS[status])


def can_have_postmortem(incident: Incident) -> bool:
    """Only a resolved incident (not a maintenance) gets a postmortem."""
    return incident.kind == INCIDENT and incident.status == "resolved"


def postmortem_of(incident_id: int, with_actions: bool = True) -> Postmortem | None:
    """The incident's postmortem (draft or published) with its action items, or None."""
    stmt = select(Postmortem).where(Postmortem.incident_id == incident_id)
    if with_actions:
        stmt = stmt.options(selectinload(Postmortem.actions))
    return db.session.scalar(stmt)


def _open(incident: Incident, author) -> Postmortem:
    if not can_have_postmortem(incident):
        raise TravauxError("not-resolved")
    postmortem = postmortem_of(incident.id, with_actions=False)
    if postmortem is None:
        postmortem = Postmortem(incident=incident, author=author, body_source="", body_html="")
        db.session.add(postmortem)
        db.session.flush()
    return postmortem


def _set_body(postmortem: Postmortem, body: str) -> None:
    if len(body) > BODY_MAX:
        raise TravauxError("too-long")
    postmortem.body_source = body
    postmortem.body_html = render(body)
    postmortem.excerpt = excerpt(postmortem.body_html)
    postmortem.saved_at = now()


def save_draft(incident: Incident, author, body: str) -> Postmortem:
    """Keep the draft as it is now (the editor calls it as one types). Refused once the
    postmortem is published: its text is what everyone was sent. Commits."""
    postmortem = _open(incident, author)
    if postmortem.is_published:
        raise TravauxError("published")
    _set_body(postmortem, body)
    postmortem.author = author
    db.session.commit()
    return postmortem


def preview(body: str) -> str:
    """The HTML the text will have once published: the same pipeline, nothing stored."""
    if len(body) > BODY_MAX:
        raise TravauxError("too-long")
    return render(body)


def publish(incident: Incident, author, body: str | None = None) -> Postmortem:
    """Publish the postmortem (with `body` as its last draft, if given): on the incident page
    and in the feeds, as an official post into every linked thread, to the events listeners,
    and mailed once per member concerned (a worker's job). Commits."""
    postmortem = _open(incident, author)
    # Locked while we decide: two admins publishing at once publish once.
    db.session.refresh(postmortem, with_for_update=True)
    if postmortem.is_published:
        raise TravauxError("published")
    if body is not None:
        _set_body(postmortem, body)
    if not postmortem.body_source.strip():
        raise TravauxError("empty")
    moment = now()
    postmortem.published_at, postmortem.published_by_id = moment, author.id
    incident.updated_at = moment  # the page, the feeds and the export show it
    text = relay_text(postmortem)
    for thread in services.linked_threads(incident):
        # Its own mail tells the watchers, once each: no digest of it per thread.
        forum.add_post(thread, author, text, official=True, tell_watchers=False)
    events.emit("incident.postmortem", incident, notify=True, postmortem_url=page_url(incident),
                published_at=moment.isoformat())
    queue(MAIL, {"incident_id": incident.id, "publisher_id": author.id})
    record(author, "incident.postmortem", "incident", incident.id)
    services.queue_publish()
    db.session.commit()
    return postmortem


def page_url(incident: Incident) -> str:
    return absolute(url_for("travaux.incident", incident_id=incident.id, _anchor="postmortem"))


def relay_text(postmortem: Postmortem) -> str:
    """The official post a publication puts into each linked thread, in the site's language."""
    incident = postmortem.incident
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        link = url_for("travaux.incident", incident_id=incident.id, _anchor="postmortem")
        head = _("**Postmortem**: [%(title)s](%(link)s)", title=escape_md(incident.title),
                 link=link)
        parts = [head, postmortem.body_source.strip()]
        if postmortem.actions:
            items = "\n".join(f"- {escape_md(a.text)} ({action_label(a.status)})"
                              for a in postmortem.actions)
            parts.append(_("**What we are changing** (followed on the incident page):")
                         + "\n\n" + items)
    return "\n\n".join(parts)


# Action items -----------------------------------------------------------------------------

def _touch(postmortem: Postmortem) -> None:
    """A published postmortem's change shows on public pages: the incident's stamp moves."""
    if postmortem.is_published:
        postmortem.incident.updated_at = now()
        services.queue_publish()


def add_action(incident: Incident, author, text: str, status: str = PLANNED) -> ActionItem:
    """Add an action item (before or after publication), its first status dated. Commits."""
    text = " ".join(text.split())
    if not text or len(text) > ACTION_MAX:
        raise TravauxError("action-text")
    if status not in ACTION_STATUSES:
        raise TravauxError("action-status")
    postmortem = _open(incident, author)
    moment = now()
    action = ActionItem(postmortem=postmortem, text=text, status=status, created_at=moment,
                        changed_at=moment)
    action.changes.append(ActionChange(status=status, changed_at=moment))
    db.session.add(action)
    _touch(postmortem)
    db.session.flush()
    record(author, "postmortem.action", "incident", incident.id, action_id=action.id,
           status=status)
    db.session.commit()
    return action


def change_action(action: ActionItem, author, status: str, text: str | None = None) -> None:
    """Move an action item to `status` (dated when it changes), and reword it. Commits."""
    if status not in ACTION_STATUSES:
        raise TravauxError("action-status")
    if text is not None:
        text = " ".join(text.split())
        if not text or len(text) > ACTION_MAX:
            raise TravauxError("action-text")
        action.text = text
    moment = now()
    if status != action.status:
        action.status = status
        action.changes.append(ActionChange(status=status, changed_at=moment))
    action.changed_at = moment
    _touch(action.postmortem)
    record(author, "postmortem.action", "incident", action.postmortem.incident_id,
           action_id=action.id, status=status)
    db.session.commit()


def remove_action(action: ActionItem, author) -> None:
    """Take an action item out of a draft; a published one stays (mark it done). Commits."""
    if action.postmortem.is_published:
        raise TravauxError("published")
    incident_id = action.postmortem.incident_id
    db.session.delete(action)
    record(author, "postmortem.action.remove", "incident", incident_id)
    db.session.commit()


# Opting out ------------------------------------------------------------------------------

def opted_out(user) -> bool:
    """Whether `user` asked not to be mailed postmortems."""
    return db.session.get(PostmortemOptOut, user.id) is not None


def set_opt_out(user, out: bool) -> None:
    """Stop (or start again) mailing `user` the postmortems. Commits."""
    if out and not opted_out(user):
        db.session.add(PostmortemOptOut(user_id=user.id, created_at=now()))
    elif not out:
        db.session.execute(delete(PostmortemOptOut).where(PostmortemOptOut.user_id == user.id))
    db.session.commit()


# Mail --------------------------------------------------------------------------------------

def recipients(incident: Incident, publisher_id: int | None = None) -> list[User]:
    """Who is mailed a published postmortem, once each: the members affected on a linked
    thread (its author, who reported it, and every "me too") and those who watch one; never
    the publisher, a disabled or unconfirmed account, or one who opted out. One query."""
    linked = select(Thread.id).where(Thread.incident_id == incident.id)
    concerned = union(
        select(Thread.author_id).where(Thread.incident_id == incident.id),
        select(Affected.user_id).where(Affected.thread_id.in_(linked)),
        select(Watch.user_id).where(Watch.thread_id.in_(linked)))
    stmt = (select(User).where(User.id.in_(concerned), User.disabled_at.is_(None),
                               User.confirmed_at.is_not(None),
                               User.id.not_in(select(PostmortemOptOut.user_id)))
            .order_by(User.id))
    if publisher_id is not None:
        stmt = stmt.where(User.id != publisher_id)
    return list(db.session.scalars(stmt))


OPT_OUT_MARK = "__POSTMORTEM_OPT_OUT__"
OPT_OUT, OPT_OUT_MAX_AGE = "postmortem-stop", 90 * 24 * 3600


def stop_url(user) -> str:
    """The mail's link that stops postmortems for `user`, no login needed (a page with a
    button: never a change on a GET)."""
    token = make_token(OPT_OUT, user.id)
    return absolute(url_for("travaux_postmortems.opt_out_by_mail", token=token))


def fan_out(payload: dict) -> None:
    """The worker's half of a publication: the recipients read once, one mail each in their
    language, queued in one INSERT, in the job's transaction (the outbox locks its row, so
    two workers never send it twice)."""
    incident = db.session.get(Incident, payload["incident_id"])
    postmortem = postmortem_of(payload["incident_id"]) if incident is not None else None
    if incident is None or postmortem is None or not postmortem.is_published:
        return
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    rendered: dict[str, Mail] = {}
    mails = []
    for user in recipients(incident, payload.get("publisher_id")):
        locale = user.locale if user.locale and user.locale in languages else default
        if locale not in rendered:
            rendered[locale] = render_mail(
                "postmortem", locale, incident=incident, postmortem=postmortem,
                page=page_url(incident), opt_out=OPT_OUT_MARK, action_label=action_label)
        template = rendered[locale]
        link = stop_url(user)
        mails.append(Mail(to=user.email, subject=template.subject,
                          text=template.text.replace(OPT_OUT_MARK, link),
                          html=template.html.replace(OPT_OUT_MARK, link),
                          headers={"Auto-Submitted": "auto-generated",
                                   "List-Unsubscribe": f"<{link}>"}))
    queue_many(mails)


# Feeds ---------------------------------------------------------------------------------------

def feed_items(incident_id: int | None = None, service_id: int | None = None,
               limit: int = 50) -> list:
    """The published postmortems as feed items, newest first: of one incident, of the
    incidents naming one service, or all of them. One query."""
    from board import feeds
    from board.travaux.models import Service

    stmt = (select(Postmortem).where(Postmortem.published_at.is_not(None))
            .options(selectinload(Postmortem.actions).lazyload(ActionItem.changes),
                     joinedload(Postmortem.incident).joinedload(Incident.author))
            .order_by(Postmortem.published_at.desc()).limit(limit))
    if incident_id is not None:
        stmt = stmt.where(Postmortem.incident_id == incident_id)
    if service_id is not None:
        stmt = stmt.where(Postmortem.incident.has(Incident.services.any(Service.id == service_id)))
    items = []
    for postmortem in db.session.scalars(stmt):
        incident = postmortem.incident
        html = feeds.absolute_html(postmortem.body_html)
        if postmortem.actions:
            html += "<ul>" + "".join(
                f"<li>{escape(a.text)} ({escape(action_label(a.status))})</li>"
                for a in postmortem.actions) + "</ul>"
        assert postmortem.published_at is not None  # the query's condition
        items.append(feeds.Item(
            key=f"postmortem-{postmortem.id}",
            title=_("Postmortem: %(title)s", title=incident.title), link=page_url(incident),
            published=postmortem.published_at,
            updated=max(postmortem.published_at, incident.updated_at), html=str(html),
            author=incident.author.name if incident.author else
            current_app.config["FEED_AUTHOR"],
            categories=[("postmortem", _("Postmortem"))]))
    return items
