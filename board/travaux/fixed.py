""""Is it fixed for you?": once an incident is resolved, each member affected on one of its
threads (its author, or a "me too") is asked on the thread, and in the watch digest that
brings the resolution; one answer per member and incident, changed at will. Staff read the
counts on the incident page; past FIXED_NO_THRESHOLD "no" within FIXED_NO_WINDOW_HOURS, an
alert proposes to reopen (on the incident page and the reports page, and one mail to the
admins), once per incident. Nothing is ever reopened by itself. Operations commit and say so.
"""

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from board.accounts.models import User
from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum.models import Affected, Thread
from board.outbox.services import queue_mail
from board.permissions import is_staff
from board.travaux import services
from board.travaux.models import INCIDENT, Incident
from board.travaux.postmortem_models import FixedAlert, FixedAnswer
from board.travaux.services import TravauxError
from board.urls import absolute, site_context


def asks(incident: Incident) -> bool:
    """Whether the question is asked about `incident`: a resolved incident, not a
    maintenance."""
    return incident.kind == INCIDENT and incident.status == "resolved" \
        and incident.resolved_at is not None


def _affected(incident_id: int, user_id: int):
    """An EXISTS: the member reported or said "me too" on a thread linked to the incident."""
    linked = select(Thread.id).where(Thread.incident_id == incident_id)
    return or_(
        select(Thread.id).where(Thread.incident_id == incident_id,
                                Thread.author_id == user_id).exists(),
        select(Affected.thread_id).where(Affected.thread_id.in_(linked),
                                         Affected.user_id == user_id).exists())


def is_affected(incident: Incident, user) -> bool:
    """Whether `user` is one of those asked: a member (staff are the ones fixing it) who is
    affected on a linked thread."""
    if not getattr(user, "is_authenticated", False) or is_staff(user):
        return False
    return bool(db.session.scalar(select(_affected(incident.id, user.id))))


@dataclass(frozen=True)
class Question:
    """What the thread shows a member: the incident, and their answer since it was resolved
    (None: not answered yet)."""

    incident: Incident
    answer: bool | None


def question(thread: Thread, user) -> Question | None:
    """The question on `thread` for `user`, or None (not asked: a guest, staff, not
    affected, or the incident not resolved). No query for a thread that is not resolved."""
    if (thread.incident_id is None or thread.resolved_at is None or is_staff(user)
            or not getattr(user, "is_authenticated", False)):
        return None
    answered = select(FixedAnswer.fixed).where(
        FixedAnswer.incident_id == Incident.id, FixedAnswer.user_id == user.id,
        FixedAnswer.answered_at >= Incident.resolved_at).scalar_subquery()
    row = db.session.execute(
        select(Incident, _affected(thread.incident_id, user.id), answered)
        .where(Incident.id == thread.incident_id)).first()
    if row is None or not row[1] or not asks(row[0]):
        return None
    return Question(row[0], row[2])


def answer(incident: Incident, user, fixed: bool, thread: Thread | None = None) -> FixedAnswer:
    """Record (or change) `user`'s answer; a "no" may raise the staff alert. Refused for an
    incident not resolved, or a member not affected. Commits."""
    # Answers to one incident take turns on its row: each counts the "no" of those before
    # it, so that the threshold is seen however many answer at once. (FOR NO KEY UPDATE:
    # the answer's own foreign key holds KEY SHARE on it.)
    db.session.execute(select(Incident.id).where(Incident.id == incident.id)
                       .with_for_update(key_share=True))
    db.session.refresh(incident)
    if not asks(incident):
        raise TravauxError("not-resolved")
    if not is_affected(incident, user):
        raise TravauxError("not-affected")
    row = _record(incident, user, fixed, thread)
    if not fixed:
        _maybe_alert(incident)
    db.session.commit()
    return row


def _record(incident: Incident, user, fixed: bool, thread: Thread | None) -> FixedAnswer:
    row = db.session.get(FixedAnswer, (incident.id, user.id))
    if row is None:
        try:
            with db.session.begin_nested():  # SQLite: a double click in two requests at once
                row = FixedAnswer(incident_id=incident.id, user_id=user.id, fixed=fixed,
                                  thread_id=thread.id if thread else None, answered_at=now())
                db.session.add(row)
            return row
        except IntegrityError:
            row = db.session.get(FixedAnswer, (incident.id, user.id), populate_existing=True)
            assert row is not None
    row.fixed, row.answered_at = fixed, now()
    if thread is not None:
        row.thread_id = thread.id
    return row


@dataclass(frozen=True)
class Counts:
    yes: int
    no: int
    affected: int

    @property
    def answered(self) -> int:
        return self.yes + self.no


def affected_members(incident: Incident) -> int:
    """How many members (not staff) are asked: authors and "me too" of the linked threads,
    each once."""
    linked = select(Thread.id).where(Thread.incident_id == incident.id)
    people = select(Thread.author_id.label("user_id")).where(
        Thread.incident_id == incident.id).union(
        select(Affected.user_id).where(Affected.thread_id.in_(linked))).subquery()
    return db.session.scalar(
        select(func.count()).select_from(people).join(User, User.id == people.c.user_id)
        .where(User.role == "member")) or 0


def counts(incident: Incident) -> Counts:
    """The answers since the incident was (last) resolved: yes, no, and how many are asked."""
    rows = dict(db.session.execute(
        select(FixedAnswer.fixed, func.count()).where(
            FixedAnswer.incident_id == incident.id,
            FixedAnswer.answered_at >= incident.resolved_at)
        .group_by(FixedAnswer.fixed)).all()) if incident.resolved_at else {}
    return Counts(rows.get(True, 0), rows.get(False, 0), affected_members(incident))


def _settings() -> tuple[int, timedelta]:
    config = current_app.config
    return (max(1, int(config["FIXED_NO_THRESHOLD"])),
            timedelta(hours=float(config["FIXED_NO_WINDOW_HOURS"])))


def _maybe_alert(incident: Incident) -> None:
    """Raise the alert once per incident when enough "no" came within the window since the
    resolution, and mail the admins; in the answer's transaction."""
    threshold, window = _settings()
    assert incident.resolved_at is not None  # asks(incident) holds
    since = max(incident.resolved_at, now() - window)
    recent = db.session.scalar(select(func.count()).select_from(FixedAnswer).where(
        FixedAnswer.incident_id == incident.id, FixedAnswer.fixed.is_(False),
        FixedAnswer.answered_at >= since)) or 0
    if recent < threshold or db.session.get(FixedAlert, incident.id) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(FixedAlert(incident_id=incident.id, raised_at=now(),
                                      no_count=recent))
    except IntegrityError:
        return  # raised by another answer meanwhile
    _mail_admins(incident, recent)


def _mail_admins(incident: Incident, recent: int) -> None:
    admins = db.session.scalars(select(User).where(
        User.role == "admin", User.disabled_at.is_(None), User.confirmed_at.is_not(None))
        .order_by(User.id)).all()
    with nullcontext() if has_request_context() else site_context():
        link = absolute(url_for("travaux.incident", incident_id=incident.id, _anchor="fixed"))
    hours = _settings()[1].total_seconds() / 3600
    for admin in admins:
        queue_mail(admin.email, "fixed_alert", admin.locale, user=admin, incident=incident,
                   count=recent, hours=f"{hours:g}", link=link)


def alert_for(incident: Incident) -> FixedAlert | None:
    """The alert staff see on the incident page: raised, not dismissed, incident still
    resolved."""
    if not asks(incident):
        return None
    alert = db.session.get(FixedAlert, incident.id)
    return alert if alert is not None and alert.dismissed_at is None else None


def open_alerts() -> list[FixedAlert]:
    """Every alert still to act on, newest first, with its incident (the reports page)."""
    return list(db.session.scalars(
        select(FixedAlert).join(Incident, Incident.id == FixedAlert.incident_id)
        .where(FixedAlert.dismissed_at.is_(None), Incident.status == "resolved")
        .options(joinedload(FixedAlert.incident)).order_by(FixedAlert.raised_at.desc())))


def dismiss(incident: Incident, actor) -> None:
    """Staff say the incident stays resolved: the alert goes (it never comes back).
    Commits."""
    alert = db.session.get(FixedAlert, incident.id)
    if alert is not None and alert.dismissed_at is None:
        alert.dismissed_at = now()
        record(actor, "incident.fixed_alert.dismiss", "incident", incident.id)
    db.session.commit()


def reopen(incident: Incident, author) -> None:
    """The alert's proposal, taken by an admin: the incident reopened by an update, which
    says why. Commits (through `post_update`)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = _("Members tell us the problem is still there: we are looking into it "
                    "again.")
    services.post_update(incident, author, "investigating", message, reopen=True)


def digest_note(thread: Thread, user) -> dict | None:
    """For the watch digest that brings the resolution (the forum asks through
    app.extensions["digest_notes"]): the question's link, if `user` is asked and has not
    answered since. The link shows the question; answering is a POST on the page."""
    asked = question(thread, user)
    if asked is None or asked.answer is not None:
        return None
    # Lazy: the digest is rendered in the member's language, after this call.
    return {"text": _l("Is it fixed for you? Tell us in one click:"),
            "link": _l("Answer on the thread"),
            "url": absolute(url_for("forum.thread", thread_id=thread.id, slug=thread.slug,
                                    _anchor="fixed"))}
