"""Suspected incidents: a burst of reports on one service that nobody has declared yet.

A worker task (`detect`) counts, for each service, the *signals* of the last SPIKE_WINDOW
minutes: new threads about it not yet linked to an incident, and "me too" on such threads.
When they reach SPIKE_MIN_SIGNALS and SPIKE_FACTOR times the service's usual number for
such a window at the same hour over the last four weeks, a suspected incident opens: staff
see it on the reports page and in their bar, and the admins who asked get one mail (through
the outbox). A burst that goes on only updates it; it closes when staff promote it or
dismiss it, or after SPIKE_QUIET minutes without a signal. The public never sees it.

One action (`promote_cluster`) turns it into an incident: the report with the most members
affected is promoted, every other report of the burst is linked, in one transaction.
"""

from datetime import datetime, timedelta

from flask import current_app, g, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.forum.models import Affected, Thread
from board.outbox.services import queue_mail
from board.travaux import events, services
from board.travaux.models import Incident, Service, SuspectedIncident
from board.urls import absolute, site_context
from board.visibility import shown

BASELINE_DAYS = 28


def _settings() -> tuple[timedelta, int, float, timedelta]:
    config = current_app.config
    return (timedelta(minutes=config["SPIKE_WINDOW_MINUTES"]), config["SPIKE_MIN_SIGNALS"],
            config["SPIKE_FACTOR"], timedelta(minutes=config["SPIKE_QUIET_MINUTES"]))


def _reports():
    """Threads that count as reports: shown, about a service, not linked to an incident, not
    merged into another as a duplicate."""
    return and_(shown(Thread), Thread.service_id.is_not(None), Thread.incident_id.is_(None),
                Thread.duplicate_of_id.is_(None))


def signals(since: datetime, until: datetime, service_id: int | None = None) -> dict[int, int]:
    """Signals per service between two moments: new reports, and "me too" on reports."""
    counts: dict[int, int] = {}
    new = (select(Thread.service_id, func.count()).where(
        _reports(), Thread.created_at >= since, Thread.created_at < until)
        .group_by(Thread.service_id))
    marks = (select(Thread.service_id, func.count()).select_from(Affected)
             .join(Thread, Thread.id == Affected.thread_id)
             .where(_reports(), Affected.created_at >= since, Affected.created_at < until)
             .group_by(Thread.service_id))
    for stmt in (new, marks):
        if service_id is not None:
            stmt = stmt.where(Thread.service_id == service_id)
        for found, count in db.session.execute(stmt):
            if found is not None:
                counts[found] = counts.get(found, 0) + count
    return counts


def baseline(service_id: int, at: datetime, window: timedelta) -> float:
    """The service's usual signals in a `window`, at this hour: over the same hour (half an
    hour either side) of each of the last four weeks' days, per window."""
    ranges = [(at - timedelta(days=d, minutes=30), at - timedelta(days=d) + timedelta(minutes=30))
              for d in range(1, BASELINE_DAYS + 1)]

    def within(column):
        return or_(*(and_(column >= start, column < end) for start, end in ranges))

    new = db.session.scalar(select(func.count()).where(
        _reports(), Thread.service_id == service_id, within(Thread.created_at)))
    marks = db.session.scalar(
        select(func.count()).select_from(Affected).join(Thread, Thread.id == Affected.thread_id)
        .where(_reports(), Thread.service_id == service_id, within(Affected.created_at)))
    windows = BASELINE_DAYS * (timedelta(hours=1) / window)
    return ((new or 0) + (marks or 0)) / windows


def detect() -> int:
    """A worker task: open, follow and close suspected incidents. Commits; returns how many
    opened."""
    window, minimum, factor, quiet = _settings()
    moment = now()
    current = signals(moment - window, moment)
    open_ones = {s.service_id: s for s in db.session.scalars(
        select(SuspectedIncident).where(SuspectedIncident.closed_at.is_(None)))}
    opened = 0
    for service_id, count in sorted(current.items()):
        suspect = open_ones.get(service_id)
        if suspect is not None:  # the same spike goes on: no new mail
            suspect.signals, suspect.peak = count, max(suspect.peak, count)
            suspect.last_signal_at = moment
            continue
        if count < minimum:
            continue
        usual = baseline(service_id, moment, window)
        if count < factor * usual:
            continue
        if _open(service_id, count, usual, moment, window):
            opened += 1
    for suspect in open_ones.values():
        if suspect.service_id not in current and suspect.last_signal_at < moment - quiet:
            suspect.closed_at, suspect.outcome, suspect.signals = moment, "quiet", 0
    db.session.commit()
    return opened


def _open(service_id: int, count: int, usual: float, moment: datetime,
          window: timedelta) -> bool:
    """Open one, and tell the admins who asked; another worker may have just done it."""
    first = db.session.scalar(select(func.min(Thread.created_at)).where(
        _reports(), Thread.service_id == service_id, Thread.created_at >= moment - window))
    suspect = SuspectedIncident(service_id=service_id, first_report_at=first or moment,
                                detected_at=moment, last_signal_at=moment, signals=count,
                                peak=count, baseline=usual)
    try:
        with db.session.begin_nested():
            db.session.add(suspect)
    except IntegrityError:
        return False
    _tell_admins(suspect)
    events.emit("report.spike", notify=True, suspect_id=suspect.id, service_id=service_id,
                signals=count)
    return True


def _tell_admins(suspect: SuspectedIncident) -> None:
    admins = db.session.scalars(select(User).where(
        User.role == "admin", User.spike_alerts.is_(True), User.disabled_at.is_(None),
        User.confirmed_at.is_not(None))).all()
    with site_context():
        link = absolute(url_for("travaux.reports"))
    service = db.session.get(Service, suspect.service_id)
    for admin in admins:
        queue_mail(admin.email, "suspected_incident", admin.locale, user=admin,
                   suspect=suspect, service=service, link=link)


def open_suspects() -> list[SuspectedIncident]:
    """The open ones with their services, newest first; read once per request (the staff bar
    and the reports page both show them)."""
    if "open_suspects" not in g:
        g.open_suspects = list(db.session.scalars(
            select(SuspectedIncident).where(SuspectedIncident.closed_at.is_(None))
            .options(joinedload(SuspectedIncident.service))
            .order_by(SuspectedIncident.detected_at.desc())))
    return g.open_suspects


def cluster(suspect: SuspectedIncident) -> list[Thread]:
    """The reports of the burst, the most affected first."""
    window = _settings()[0]
    return list(db.session.scalars(select(Thread).where(
        _reports(), Thread.service_id == suspect.service_id,
        or_(Thread.created_at >= suspect.first_report_at - window,
            Thread.id.in_(select(Affected.thread_id).where(
                Affected.created_at >= suspect.first_report_at - window))))
        .order_by(Thread.affected_count.desc(), Thread.created_at, Thread.id)))


def promote_cluster(suspect: SuspectedIncident, author) -> Incident:
    """Promote the burst's most affected report and link every other one, in one
    transaction; the suspicion closes. Commits."""
    if suspect.closed_at is not None:
        raise services.TravauxError("suspect-closed")
    found = [t.id for t in cluster(suspect)]
    if not found:
        raise services.TravauxError("suspect-empty")
    # Locked in one query, in id order, and read afresh: another admin's promotion waits,
    # and the most affected report is chosen from what the locks protect.
    locked = db.session.scalars(select(Thread).where(Thread.id.in_(found)).order_by(Thread.id)
                                .with_for_update().execution_options(populate_existing=True))
    reports = sorted((t for t in locked if t.incident_id is None),
                     key=lambda t: (-t.affected_count, t.created_at, t.id))
    if not reports:
        raise services.TravauxError("already-linked")
    top, others = reports[0], reports[1:]
    service = db.session.get(Service, suspect.service_id)
    if service is None:
        raise services.TravauxError("suspect-closed")
    incident = services.add_incident(
        author, kind="incident", title=top.title, impact=services.guess_impact(
            sum(t.affected_count for t in reports)), services=[service],
        message=_("We are looking into the problem reported by our members."),
        source_thread=top)
    db.session.flush()
    for thread in others:
        services.add_link(incident, thread, author)
    suspect.closed_at, suspect.outcome, suspect.incident_id = now(), "promoted", incident.id
    db.session.commit()
    return incident


def dismiss(suspect: SuspectedIncident) -> None:
    """Staff say it is nothing. Commits."""
    if suspect.closed_at is None:
        suspect.closed_at, suspect.outcome = now(), "dismissed"
    db.session.commit()
