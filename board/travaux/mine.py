"""My services: the services a member says they use, and how Travaux's pages follow them.

A member ticks their services on their account page, or in the step that follows the
confirmation of their address. The banner of ongoing operations, `/travaux/` and the embed
then put those services, and the operations that touch them, first; "Mes services seulement"
shows nothing else. That second choice is a display preference, kept in a cookie
(ONLY_MINE_COOKIE) set by a plain link, as the guests' language switch is: it changes nothing
in the database, so it needs no form, and it works without JavaScript, inside the embed too.

An operation that names no service concerns everybody: it is shown even to a member who asked
for their services only. Guests choose nothing: their pages are those of before, and stay in
the guest cache (board/pagecache.py). A member's services cost one query per request, read
only by a page that shows operations (board/travaux/page_parts.py skips it on a calm day).
"""

from collections.abc import Iterable, Sequence

from flask import g, request
from flask_login import current_user
from sqlalchemy import Column, ForeignKey, Table, delete, insert, or_, select

from board.extensions import db
from board.travaux.models import Incident, Service
from board.travaux.services import Overview

member_services = Table(
    "member_services",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

ONLY_MINE_COOKIE = "travaux_only_mine"


# Reading -----------------------------------------------------------------------------------

def chosen(user) -> frozenset[int]:
    """The ids of the services `user` chose (one query)."""
    return frozenset(db.session.scalars(
        select(member_services.c.service_id).where(member_services.c.user_id == user.id)))


def my_service_ids() -> frozenset[int]:
    """The current member's services, read once per request; none for a guest, the static
    export or the outage page (no query then)."""
    if g.get("static_export") or g.get("database_down") or not current_user.is_authenticated:
        return frozenset()
    if "travaux_mine" not in g:
        g.travaux_mine = chosen(current_user)
    return g.travaux_mine


def only_mine() -> bool:
    """Whether this member shows their services only: they chose some, and asked."""
    return request.cookies.get(ONLY_MINE_COOKIE) == "1" and bool(my_service_ids())


def touches(incident: Incident, mine: Iterable[int]) -> bool:
    """Whether `incident` names one of the services `mine`."""
    ids = set(mine)
    return any(service.id in ids for service in incident.services)


def concerns(incident: Incident, mine: Iterable[int]) -> bool:
    """Whether a member of the services `mine` should see `incident` when they asked for
    theirs only: it touches one of them, or names no service at all."""
    return not incident.services or touches(incident, mine)


def mine_first(operations: Sequence[Incident], mine: frozenset[int],
               keep_only: bool = False) -> list[Incident]:
    """The operations touching `mine` first, each group in its own order; with `keep_only`,
    the others are left out (but those that name no service)."""
    if keep_only:
        operations = [i for i in operations if concerns(i, mine)]
    return sorted(operations, key=lambda incident: not touches(incident, mine))


def arrange(overview: Overview) -> Overview:
    """The overview as the current member reads it: their services and their operations
    first, or theirs only. A guest's, or that of a member without services, is unchanged."""
    mine = my_service_ids()
    if not mine:
        return overview
    keep_only = only_mine()
    services = [s for s in overview.services if s.id in mine]
    if not keep_only:
        services += [s for s in overview.services if s.id not in mine]
    statuses = {i: level for i, level in overview.statuses.items() if not keep_only or i in mine}
    return Overview(mine_first(overview.ongoing, mine, keep_only),
                    mine_first(overview.upcoming, mine, keep_only), services, statuses)


def narrow(stmt):
    """A statement over Incident narrowed to the current member's operations when they asked
    for their services only (those naming no service included); else unchanged."""
    if not only_mine():
        return stmt
    return stmt.where(or_(Incident.services.any(Service.id.in_(my_service_ids())),
                          ~Incident.services.any()))


# Writing -----------------------------------------------------------------------------------

def choose(user, service_ids: Iterable[int]) -> frozenset[int]:
    """Replace the services `user` uses by these (ids of no service are ignored). Commits;
    returns the ids kept."""
    wanted = {int(i) for i in service_ids}
    known = frozenset(db.session.scalars(select(Service.id).where(Service.id.in_(wanted)))) \
        if wanted else frozenset()
    db.session.execute(delete(member_services).where(member_services.c.user_id == user.id))
    if known:
        db.session.execute(insert(member_services),
                           [{"user_id": user.id, "service_id": i} for i in sorted(known)])
    db.session.commit()
    g.pop("travaux_mine", None)
    return known
