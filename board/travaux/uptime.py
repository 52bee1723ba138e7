"""Uptime per service and day: computed by the worker from the history, read by the pages.

Each operation's time in each status gives spans: an incident is down at its impact (none:
nothing, minor: degraded performance, major: partial outage, critical: major outage, the
states Statuspage shows) from its opening until it is resolved, reopenings included; a
maintenance counts apart while it is in progress. A day with several incidents on a service
counts the worst state at each moment, never the sum. Days are local days of the site's zone.

Any Travaux event adds to the backlog the days its operation spans (before and after a
reschedule), in the change's transaction; the worker's task recomputes those days for every
service and stores only what changed. Another task refreshes yesterday and today (an
incident still open grows), and the community's track: threads naming a service and
"affected" marks, as a guest sees them.
Pages only read the stored rows (board/travaux/uptime_views.py).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import selectinload

from board.audit import record
from board.clock import now
from board.extensions import db
from board.forum.models import Affected, Thread
from board.travaux.events import Event
from board.travaux.models import CLOSED, Incident, IncidentUpdate, Service
from board.travaux.uptime_models import CommunityDay, UptimeBacklog, UptimeDay
from board.visibility import GUEST, visible_threads

# The Statuspage-like states an incident's impact puts its services in, worst last.
STATE_OF_IMPACT = {"none": None, "minor": "degraded", "major": "partial_outage",
                   "critical": "major_outage"}
DOWN_STATES = ("degraded", "partial_outage", "major_outage")
# As Statuspage counts it: a partial outage is 30 % down, degraded performance is up.
DOWNTIME_WEIGHT = {"degraded": 0.0, "partial_outage": 0.3, "major_outage": 1.0}
# How far back the daily recount of the community's marks goes: what the bars show.
COMMUNITY_DAYS = 90
# PostgreSQL advisory lock key of the uptime writers ("uptime" in ASCII).
UPTIME_LOCK = 0x757074696D65
_COLUMN = {"degraded": "degraded_minutes", "partial_outage": "partial_minutes",
           "major_outage": "major_minutes", "maintenance": "maintenance_minutes"}


def zone() -> ZoneInfo:
    """The zone whose days the bars count."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_day(moment: datetime, tz: ZoneInfo | None = None) -> date:
    """The local day `moment` falls on."""
    return moment.astimezone(tz or zone()).date()


def day_bounds(day: date, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """Where a local day starts and ends, in UTC (23 or 25 hours on the days of DST)."""
    tz = tz or zone()
    start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return start, end


# Spans and minutes ------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    state: str  # one of DOWN_STATES, or "maintenance"


def spans(incident: Incident, timeline: list[tuple[datetime, str]], until: datetime) -> list[Span]:
    """The spans of one operation from its updates' (time, status), oldest first."""
    if incident.is_maintenance:
        state: str | None = "maintenance"
        counts = {"in_progress"}
    else:
        state = STATE_OF_IMPACT[incident.impact]
        counts = {s for s in incident.statuses if s not in CLOSED}
    if state is None:
        return []
    found, begun = [], None
    for moment, status in timeline:
        if status in counts and begun is None:
            begun = moment
        elif status not in counts and begun is not None:
            found.append(Span(begun, moment, state))
            begun = None
    if begun is not None:
        found.append(Span(begun, max(until, begun), state))
    if not found and incident.is_maintenance and incident.status == "completed" \
            and incident.window_start and incident.window_end:
        # Declared once over (through the API, say): its window is all we know.
        end = min(incident.window_end, incident.resolved_at or incident.window_end)
        found.append(Span(incident.window_start, max(end, incident.window_start), state))
    return found


def minutes_in(found: list[Span], start: datetime, end: datetime) -> dict[str, int]:
    """Minutes of each state between `start` and `end`: at each moment the worst incident
    state counts, once; maintenance counts apart, once however many overlap."""
    cuts = {start, end}
    for span in found:
        if span.start < end and span.end > start:
            cuts.update((max(span.start, start), min(span.end, end)))
    ordered = sorted(cuts)
    seconds = dict.fromkeys(_COLUMN, 0.0)
    for left, right in zip(ordered, ordered[1:], strict=False):
        active = {s.state for s in found if s.start <= left and s.end >= right}
        length = (right - left).total_seconds()
        worst = [s for s in DOWN_STATES if s in active]
        if worst:
            seconds[worst[-1]] += length
        if "maintenance" in active:
            seconds["maintenance"] += length
    return {state: round(value / 60) for state, value in seconds.items()}


def _touches(incident: Incident, found: list[Span], start: datetime, end: datetime,
             until: datetime) -> bool:
    if any(s.start < end and s.end > start for s in found):
        return True
    if incident.is_maintenance:
        return False
    closed = incident.resolved_at or until
    return incident.created_at < end and (closed > start or incident.created_at >= start)


# Storing ----------------------------------------------------------------------------------

def _operations_over(start: datetime, end: datetime) -> list[Incident]:
    return list(db.session.scalars(
        select(Incident)
        .where(or_(Incident.created_at < end, Incident.window_start < end),
               or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start))
        .options(selectinload(Incident.services)).order_by(Incident.id)))


def _timelines(ids: list[int]) -> dict[int, list[tuple[datetime, str]]]:
    found: dict[int, list[tuple[datetime, str]]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(IncidentUpdate.incident_id, IncidentUpdate.created_at, IncidentUpdate.status)
            .where(IncidentUpdate.incident_id.in_(ids))
            .order_by(IncidentUpdate.incident_id, IncidentUpdate.created_at, IncidentUpdate.id))
        for incident_id, moment, status in rows:
            found[incident_id].append((moment, status))
    return found


def compute(first: date, last: date) -> dict[tuple[int, date], dict]:
    """Every service's days from `first` to `last` (local, inclusive) with something in them."""
    tz, until = zone(), now()
    start, end = day_bounds(first, tz)[0], day_bounds(last, tz)[1]
    operations = _operations_over(start, end)
    timelines = _timelines([o.id for o in operations])
    by_service: dict[int, list[tuple[Incident, list[Span]]]] = {}
    for operation in operations:
        found = spans(operation, timelines[operation.id], until)
        for service in operation.services:
            by_service.setdefault(service.id, []).append((operation, found))
    days: dict[tuple[int, date], dict] = {}
    for service_id, items in by_service.items():
        day = first
        while day <= last:
            day_start, day_end = day_bounds(day, tz)
            found = [s for _, spans_ in items for s in spans_]
            minutes = minutes_in(found, day_start, min(day_end, max(until, day_start)))
            touched = [{"id": o.id, "kind": o.kind, "title": o.title, "impact": o.impact}
                       for o, spans_ in items if _touches(o, spans_, day_start, day_end, until)]
            if touched or any(minutes.values()):
                days[(service_id, day)] = {
                    **{_COLUMN[s]: m for s, m in minutes.items()}, "operations": touched}
            day += timedelta(days=1)
    return days


def _write_lock() -> None:
    """Workers write the days one at a time (PostgreSQL: until the transaction ends), so two
    never insert the same day; on SQLite one worker runs."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPTIME_LOCK})


def recompute(first: date, last: date) -> int:
    """Store the official days from `first` to `last` for every service (only what changed),
    in the caller's transaction. Returns how many rows changed."""
    last = min(last, local_day(now()))
    if first > last:
        return 0
    _write_lock()
    fresh = compute(first, last)
    existing = {(r.service_id, r.day): r for r in db.session.scalars(
        select(UptimeDay).where(UptimeDay.day >= first, UptimeDay.day <= last))}
    changed, moment = 0, now()
    for key, row in existing.items():
        if key not in fresh:
            db.session.delete(row)
            changed += 1
    for (service_id, day), values in fresh.items():
        stored = existing.get((service_id, day))
        if stored is None:
            db.session.add(UptimeDay(service_id=service_id, day=day, computed_at=moment,
                                     **values))
            changed += 1
        elif any(getattr(stored, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(stored, k, v)
            stored.computed_at = moment
            changed += 1
    return changed


def recount_community(first: date, last: date) -> int:
    """Store the community's days from `first` to `last`: reports and "affected" marks on
    threads naming a service, as a guest sees them; a day staff hid keeps its reason. In the
    caller's transaction; returns how many rows changed."""
    tz = zone()
    last = min(last, local_day(now(), tz))
    if first > last:
        return 0
    _write_lock()
    start, end = day_bounds(first, tz)[0], day_bounds(last, tz)[1]
    counts: dict[tuple[int, date], list[int]] = {}
    reports = visible_threads(
        select(Thread.service_id, Thread.created_at)
        .where(Thread.service_id.is_not(None), Thread.created_at >= start,
               Thread.created_at < end), GUEST)
    marks = visible_threads(
        select(Thread.service_id, Affected.created_at)
        .join(Affected, Affected.thread_id == Thread.id)
        .where(Thread.service_id.is_not(None), Affected.created_at >= start,
               Affected.created_at < end), GUEST)
    for column, stmt in ((0, reports), (1, marks)):
        for service_id, moment in db.session.execute(stmt):
            counts.setdefault((service_id, local_day(moment, tz)), [0, 0])[column] += 1
    existing = {(r.service_id, r.day): r for r in db.session.scalars(
        select(CommunityDay).where(CommunityDay.day >= first, CommunityDay.day <= last))}
    changed = 0
    for key in existing.keys() | counts.keys():
        row, (reported, affected) = existing.get(key), counts.get(key, [0, 0])
        if row is None:
            db.session.add(CommunityDay(service_id=key[0], day=key[1], reports=reported,
                                        affected=affected))
        elif (row.reports, row.affected) != (reported, affected):
            if not (reported or affected or row.hidden_reason):
                db.session.delete(row)
            else:
                row.reports, row.affected = reported, affected
        else:
            continue
        changed += 1
    return changed


# What moves it ----------------------------------------------------------------------------

def _span_of(event: Event) -> tuple[date, date] | None:
    incident = event.incident
    if incident is None:
        return None
    moments = [incident.created_at, incident.resolved_at or now()]
    if incident.window_start:
        moments += [incident.window_start, incident.window_end or incident.window_start]
    for key in ("previous_start", "previous_end"):
        if event.data.get(key):
            moments.append(datetime.fromisoformat(event.data[key]))
    tz = zone()
    first, last = local_day(min(moments), tz), local_day(max(moments), tz)
    today = local_day(now(), tz)
    return (first, min(last, today)) if first <= today else None


def queue_recompute(event: Event) -> None:
    """A Travaux events listener: the days an operation spans are to be counted again by the
    worker, before and after the change (in the change's transaction)."""
    days = _span_of(event)
    if days is not None:
        db.session.add(UptimeBacklog(track="official", first=days[0], last=days[1]))


def queue_community_recount(thread: Thread) -> None:
    """A thread naming a service hidden, shown or moved changes its days' community counts.
    Receives the forum's `thread_visibility_changed`, in the forum's transaction."""
    if thread.service_id is not None:
        db.session.add(UptimeBacklog(track="community", first=local_day(thread.created_at),
                                     last=local_day(now())))


def catch_up() -> int:
    """A worker task: count again the days the backlog names, each track once over the
    union of its ranges. Other workers skip the rows one holds (PostgreSQL). Commits;
    returns how many day rows changed."""
    waiting = db.session.scalars(select(UptimeBacklog).order_by(UptimeBacklog.id)
                                 .with_for_update(skip_locked=True)).all()
    changed = 0
    for track, count in (("official", recompute), ("community", recount_community)):
        ranges = [(w.first, w.last) for w in waiting if w.track == track]
        if ranges:
            changed += count(min(r[0] for r in ranges), max(r[1] for r in ranges))
    for row in waiting:
        db.session.delete(row)
    db.session.commit()
    return changed


def refresh(force: bool = False) -> int:
    """A worker task: yesterday and today again, official and community, at most every
    UPTIME_REFRESH_SECONDS (an open incident grows; reports come in), and the community's
    last 90 days at the first round of each day (a report moved to another service, a "me
    too" taken back); the whole history once if it was never counted (a site upgraded with
    its past). Commits."""
    state = current_app.extensions.setdefault("travaux.uptime", {})
    period = timedelta(seconds=current_app.config["UPTIME_REFRESH_SECONDS"])
    moment = now()
    if not force and state.get("refreshed_at") and moment - state["refreshed_at"] < period:
        return 0
    if "checked" not in state:
        state["checked"] = True
        never = db.session.scalar(select(UptimeDay.day).limit(1)) is None
        if never and db.session.scalar(select(Incident.id).limit(1)) is not None:
            rebuild()
    today = local_day(moment)
    back = 1 if state.get("day") == today else COMMUNITY_DAYS - 1
    changed = recompute(today - timedelta(days=1), today)
    changed += recount_community(today - timedelta(days=back), today)
    db.session.commit()
    state["refreshed_at"], state["day"] = moment, today
    return changed


def rebuild() -> int:
    """Count every day again, from the oldest operation or report to today. Commits."""
    oldest = [m for m in (db.session.scalar(select(func.min(Incident.created_at))),
                          db.session.scalar(select(func.min(Incident.window_start))),
                          db.session.scalar(select(func.min(Thread.created_at)))) if m]
    if not oldest:
        return 0
    first, today = local_day(min(oldest)), local_day(now())
    changed = 0
    while first <= today:  # a year at a time: each pass holds one year of rows
        last = min(first + timedelta(days=365), today)
        changed += recompute(first, last) + recount_community(first, last)
        db.session.commit()
        first = last + timedelta(days=1)
    return changed


@click.command("uptime")
@with_appcontext
def rebuild_command():
    """Count every service's uptime days again from the whole history."""
    click.echo(f"{rebuild()} days stored again")


# Hiding the community's marks of a day ----------------------------------------------------

class UptimeError(ValueError):
    """A refused change; str(error) is a code the views turn into a message."""


def hide_marks(service: Service, day: date, author, reason: str) -> CommunityDay:
    """Hide the community's marks of one service's day as no real problem, with the reason,
    in the audit log. Commits."""
    reason = reason.strip()
    if not reason:
        raise UptimeError("reason")
    row = db.session.get(CommunityDay, (service.id, day))
    if row is None:
        raise UptimeError("nothing")
    row.hidden_at, row.hidden_by_id, row.hidden_reason = now(), author.id, reason[:300]
    record(author, "uptime.hide_marks", "service", service.id, day=day.isoformat(),
           reason=row.hidden_reason)
    db.session.commit()
    return row


def show_marks(service: Service, day: date, author) -> None:
    """Show again the marks of a day staff had hidden, in the audit log. Commits."""
    row = db.session.get(CommunityDay, (service.id, day))
    if row is None:
        raise UptimeError("nothing")
    row.hidden_at = row.hidden_by_id = row.hidden_reason = None
    record(author, "uptime.show_marks", "service", service.id, day=day.isoformat())
    db.session.commit()


def init_app(app) -> None:
    """The worker's tasks, the events listener, `flask travaux uptime`."""
    from board.forum.services import thread_visibility_changed
    from board.outbox.services import add_task
    from board.travaux.cli import travaux
    from board.travaux.events import add_listener

    add_listener(app, queue_recompute, domain="travaux")
    add_task(app, catch_up, domain="travaux")
    add_task(app, refresh, domain="travaux")
    thread_visibility_changed.connect(queue_community_recount)
    travaux.add_command(rebuild_command)
