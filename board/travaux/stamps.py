"""What moves Travaux's generation (board/pagecache.py), and the stamp of its pages.

Everything Travaux shows is on the banner of every page, so any change to an incident, an
update, a service or a stored uptime day moves the one generation; threads linked to an
incident move it too (the forum's stamps see to that: board/forum/stamps.py).
"""

from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from board import pagecache
from board.travaux.models import Incident, IncidentUpdate, Service
from board.travaux.uptime_models import CommunityDay, UptimeDay


def travaux_changed(session: Session, _row) -> None:
    pagecache.bump(session, pagecache.TRAVAUX)


def register() -> None:
    for model in (Incident, IncidentUpdate, Service, UptimeDay, CommunityDay):
        pagecache.on_change(model, travaux_changed)


@cache
def _statement(*generations: str):
    return select(func.max(Incident.updated_at), func.count(Incident.id),
                  *pagecache.generations(*generations))


def travaux_stamp(**_view_args) -> tuple:
    """Every Travaux page: its generation and the site's (members' names), and the incidents'
    latest change and number, which the feeds were keyed by before (a few hundred rows)."""
    return pagecache.read_stamp(_statement(pagecache.TRAVAUX, pagecache.SITE))


def banner_stamp() -> tuple:
    """The banner of ongoing operations, which names no member: Travaux's alone."""
    return pagecache.read_stamp(_statement(pagecache.TRAVAUX))
