"""What each incident cost: the reports it drew and how long the reporters waited.

For an incident: its linked threads, the distinct members affected across them (duplicates'
marks moved along when they were merged), the duplicates merged into them, and the times
from the first report (a linked thread or a merged duplicate) to the opening (the
promotion), to the first official word (an official post in a linked thread, or an update)
and to the resolution. Linked threads count as reports unless their first post is official
(the discussion thread of an incident declared on Travaux). Read for any number of
incidents in five grouped queries, whatever their threads: the incident page (staff) and
/admin/reports (board/travaux/report_views.py).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select, union
from sqlalchemy.orm import aliased

from board.extensions import db
from board.forum.models import Affected, Post, Thread
from board.travaux.models import Incident, IncidentUpdate
from board.visibility import visible_threads


@dataclass
class Cost:
    incident: Incident
    threads: int = 0
    affected: int = 0
    duplicates: int = 0
    first_report_at: datetime | None = None
    first_official_at: datetime | None = None

    def _since_report(self, moment: datetime | None) -> timedelta | None:
        """From the first report to `moment`; None without a report, or when the report
        came after (a thread linked later)."""
        if self.first_report_at is None or moment is None or moment < self.first_report_at:
            return None
        return moment - self.first_report_at

    @property
    def to_promotion(self) -> timedelta | None:
        return self._since_report(self.incident.created_at)

    @property
    def to_first_update(self) -> timedelta | None:
        return self._since_report(self.first_official_at)

    @property
    def to_resolution(self) -> timedelta | None:
        return self._since_report(self.incident.resolved_at)


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


def _reports(stmt):
    """Only the linked threads that are reports: not the discussion thread Travaux opens
    with an official first post for an incident declared directly."""
    first = aliased(Post)
    return stmt.join(first, first.id == Thread.first_post_id).where(first.official.is_(False))


def costs(incidents: list[Incident], viewer) -> dict[int, Cost]:
    """The cost of each incident, by id, counting the threads `viewer` may see."""
    found = {incident.id: Cost(incident) for incident in incidents}
    if not found:
        return found
    ids = list(found)
    linked = _reports(visible_threads(
        select(Thread.incident_id, func.count(Thread.id), func.min(Thread.created_at))
        .where(Thread.incident_id.in_(ids)), viewer))
    for incident_id, count, first in db.session.execute(linked.group_by(Thread.incident_id)):
        found[incident_id].threads, found[incident_id].first_report_at = count, first
    # The reporters (authors of reports) and every "me too" on a linked thread, each once.
    members = union(
        _reports(visible_threads(select(Thread.incident_id, Thread.author_id.label("user_id"))
                                 .where(Thread.incident_id.in_(ids)), viewer)),
        visible_threads(select(Thread.incident_id, Affected.user_id.label("user_id"))
                        .select_from(Affected).join(Thread, Affected.thread_id == Thread.id)
                        .where(Thread.incident_id.in_(ids)), viewer)).subquery()
    for incident_id, count in db.session.execute(
            select(members.c.incident_id, func.count(distinct(members.c.user_id)))
            .group_by(members.c.incident_id)):
        found[incident_id].affected = count
    duplicate = aliased(Thread)
    merged = visible_threads(
        select(Thread.incident_id, func.count(duplicate.id), func.min(duplicate.created_at))
        .select_from(Thread).join(duplicate, duplicate.duplicate_of_id == Thread.id)
        .where(Thread.incident_id.in_(ids)), viewer).group_by(Thread.incident_id)
    for incident_id, count, first in db.session.execute(merged):
        cost = found[incident_id]
        cost.duplicates, cost.first_report_at = count, _earliest(cost.first_report_at, first)
    official = visible_threads(
        select(Thread.incident_id, func.min(Post.created_at)).select_from(Post)
        .join(Thread, Post.thread_id == Thread.id)
        .where(Thread.incident_id.in_(ids), Post.official.is_(True)), viewer) \
        .group_by(Thread.incident_id)
    firsts = dict(db.session.execute(official).all())
    updates = dict(db.session.execute(
        select(IncidentUpdate.incident_id, func.min(IncidentUpdate.created_at))
        .where(IncidentUpdate.incident_id.in_(ids)).group_by(IncidentUpdate.incident_id)).all())
    for incident_id, cost in found.items():
        cost.first_official_at = _earliest(firsts.get(incident_id), updates.get(incident_id))
    return found


def incident_cost(incident: Incident, viewer) -> Cost:
    """One incident's cost (the staff panel of its page)."""
    return costs([incident], viewer)[incident.id]
