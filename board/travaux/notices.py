"""What Travaux tells members in the site (board/forum/notifications.py): their report
promoted to an incident, and the news of an incident they are affected by (they reported one
of its threads or said "me too" there), each pointing at the update relayed into their thread.
An events listener (board/travaux/events.py), in the transaction of the change."""

from sqlalchemy import select

from board.extensions import db
from board.forum.models import Affected, Post, Thread
from board.forum.notifications import notify, notify_each
from board.travaux.events import Event

# Event types that are news of an incident, and the kind of notification they make.
_NEWS = {"incident.updated": "incident_updated", "incident.resolved": "incident_resolved",
         "maintenance.updated": "incident_updated", "maintenance.started": "incident_updated",
         "maintenance.rescheduled": "incident_updated",
         "maintenance.cancelled": "incident_resolved",
         "maintenance.completed": "incident_resolved"}


def tell_members(event: Event) -> None:
    """Tell a promoted report's author, and an incident's affected members of its news."""
    incident = event.incident
    if incident is None:
        return
    author = event.update.author if event.update is not None else None
    if event.type == "thread.promoted":
        thread = db.session.get(Thread, event.data["thread_id"])
        if thread is not None:
            notify(thread.author, "promoted", actor=author, thread=thread,
                   post=_relayed(thread), incident_id=incident.id)
    elif event.type in _NEWS:
        threads = db.session.scalars(select(Thread).where(
            Thread.incident_id == incident.id).order_by(Thread.id)).all()
        relayed = {t.id: post for t in threads if (post := _relayed(t)) is not None}
        members: dict[int, Post] = {}
        for thread in threads:
            if thread.id in relayed:
                members.setdefault(thread.author_id, relayed[thread.id])
        for user_id, thread_id in db.session.execute(
                select(Affected.user_id, Affected.thread_id)
                .where(Affected.thread_id.in_(list(relayed))).order_by(Affected.thread_id)):
            members.setdefault(user_id, relayed[thread_id])
        notify_each(_NEWS[event.type], members, author, incident_id=incident.id)


def _relayed(thread: Thread) -> Post | None:
    """The update relayed into `thread` just now: its latest post."""
    return db.session.get(Post, thread.last_post_id) if thread.last_post_id else None
