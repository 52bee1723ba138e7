"""/travaux/history: every incident and maintenance, newest first, month by month.

Filtered by service, kind, impact and month (a GET form: the filters travel in every
link). Pages are read by key, never by OFFSET: "older" asks for the operations after the
last one shown (`?after=<key>`), "newer" for those before the first (`?before=<key>`), each
one range of ix_incidents_created (created_at, id), so a page ten years back costs what the
first one does. Months are those of the opening, in the site's time zone.

The static export (board/travaux/export.py) has no forms: it writes one page per month
(`?month=YYYY-MM`, every operation of the month) and an index of the months.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, g, render_template, request
from sqlalchemy import func, select, tuple_

from board.extensions import db
from board.pagecache import guest_cached
from board.travaux import months, services
from board.travaux.models import IMPACTS, KINDS, Incident, Service, incident_services
from board.travaux.stamps import travaux_stamp

bp = Blueprint("travaux_history", __name__)
STAMP = "%Y%m%d%H%M%S%f"
MONTH_PAGE_MAX = 1000  # a month of the export on one page; no host has that many


@dataclass
class Filters:
    service: Service | None = None
    kind: str = ""
    impact: str = ""
    month: tuple[int, int] | None = None

    @property
    def month_label(self) -> str:
        return months.label(*self.month) if self.month else ""

    def args(self) -> dict:
        """The filters as the address carries them (for the pagination's links)."""
        values = {"service": self.service.slug if self.service else None,
                  "kind": self.kind or None, "impact": self.impact or None,
                  "month": months.key(*self.month) if self.month else None}
        return {name: value for name, value in values.items() if value}


@dataclass
class Page:
    items: list
    has_newer: bool
    has_older: bool

    @property
    def months(self) -> list[tuple[str, list[Incident]]]:
        """The page's operations under their month's heading, in order."""
        grouped: list[tuple[tuple[int, int], list[Incident]]] = []
        for incident in self.items:
            month = months.month_of(incident.created_at)
            if not grouped or grouped[-1][0] != month:
                grouped.append((month, []))
            grouped[-1][1].append(incident)
        return [(months.label(*month), items) for month, items in grouped]

    @property
    def first_key(self) -> str | None:
        return key_of(self.items[0]) if self.items else None

    @property
    def last_key(self) -> str | None:
        return key_of(self.items[-1]) if self.items else None


def key_of(incident: Incident) -> str:
    return f"{incident.created_at.astimezone(UTC).strftime(STAMP)}.{incident.id}"


def parse_key(text: str) -> tuple[datetime, int]:
    """(created_at, id) from a key; abort(404) for anything that is not one."""
    stamp, _, number = text.partition(".")
    try:
        if not number.isdigit() or len(number) > 18:
            raise ValueError(text)
        return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC), int(number)
    except ValueError:
        abort(404)


def read_filters(args) -> Filters:
    """The filters asked for; unknown values are ignored (the form only offers known ones)."""
    slug = args.get("service", "")
    service = db.session.scalar(select(Service).where(Service.slug == slug)) \
        if slug and len(slug) <= 60 else None
    return Filters(service=service, kind=args.get("kind") if args.get("kind") in KINDS else "",
                   impact=args.get("impact") if args.get("impact") in IMPACTS else "",
                   month=months.parse_month(args.get("month")))


def _filtered(filters: Filters):
    stmt = select(Incident)
    if filters.service is not None:
        stmt = stmt.where(Incident.id.in_(
            select(incident_services.c.incident_id)
            .where(incident_services.c.service_id == filters.service.id)))
    if filters.kind:
        stmt = stmt.where(Incident.kind == filters.kind)
    if filters.impact:
        stmt = stmt.where(Incident.impact == filters.impact)
    if filters.month:
        start, end = months.bounds(*filters.month)
        stmt = stmt.where(Incident.created_at >= start, Incident.created_at < end)
    return stmt


def history_page(filters: Filters, per_page: int, after: str | None = None,
                 before: str | None = None) -> Page:
    """One page of the history: the newest, those after a key (older) or before (newer)."""
    key = tuple_(Incident.created_at, Incident.id)
    stmt = _filtered(filters)
    if before is not None:
        rows = list(db.session.scalars(
            stmt.where(key > parse_key(before))
            .order_by(Incident.created_at, Incident.id).limit(per_page + 1)))
        if len(rows) <= per_page:  # back at the newest: the first page
            return history_page(filters, per_page)
        return Page(rows[:per_page][::-1], has_newer=True, has_older=True)
    if after is not None:
        stmt = stmt.where(key < parse_key(after))
    rows = list(db.session.scalars(
        stmt.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(per_page + 1)))
    return Page(rows[:per_page], has_newer=after is not None, has_older=len(rows) > per_page)


def month_range() -> list[tuple[int, int]]:
    """Every month from the first operation's to the current one, newest first."""
    first = db.session.scalar(select(func.min(Incident.created_at)))
    if first is None:
        return []
    month, last = months.month_of(first), max(months.current_month(),
                                              months.month_of(first))
    found = [month]
    while month < last:
        month = months.next_month(*month)
        found.append(month)
    return found[::-1]


@bp.get("/travaux/history")
@guest_cached(travaux_stamp)
def history():
    filters = read_filters(request.args)
    exporting = bool(g.get("static_export"))
    context = {"filters": filters, "kinds": KINDS, "impacts": IMPACTS,
               "services": services.all_services(), "exporting": exporting}
    if exporting:
        context["month_links"] = [(months.key(*m), months.label(*m)) for m in month_range()]
        if filters.month is None:  # the export's index: the months
            return render_template("travaux/history.html", page=None, **context)
        per_page = MONTH_PAGE_MAX
    else:
        per_page = current_app.config.get("TRAVAUX_HISTORY_PER_PAGE", 25)
    page = history_page(filters, per_page, after=request.args.get("after"),
                        before=request.args.get("before"))
    return render_template("travaux/history.html", page=page, **context)


def export_pages() -> list[tuple[str, str]]:
    """(live address, file name under history/) of the export's pages: the months' index,
    then one page per month."""
    return [("/travaux/history", "index.html")] + [
        (f"/travaux/history?month={months.key(*month)}", f"{months.key(*month)}.html")
        for month in month_range()]
