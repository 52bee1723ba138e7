"""/admin/reports: what the month's incidents cost, per service, on a page and in CSV; and
the staff panel of the incident page (templates/travaux/_cost.html)."""

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import median

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from board.extensions import db
from board.permissions import role_required
from board.travaux import months
from board.travaux.costs import Cost, costs, incident_cost
from board.travaux.models import INCIDENT, Incident

bp = Blueprint("travaux_reports", __name__)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Row:
    """One line of the month: a service, or every service (each incident once)."""

    name: str
    costs: list[Cost] = field(default_factory=list)

    @property
    def incidents(self) -> int:
        return len(self.costs)

    def total(self, attribute: str) -> int:
        return sum(getattr(cost, attribute) for cost in self.costs)

    def median(self, attribute: str) -> timedelta | None:
        values = [getattr(cost, attribute) for cost in self.costs]
        present = [value for value in values if value is not None]
        return median(present) if present else None


def month_rows(year: int, month: int) -> tuple[list[Row], Row, list[Cost]]:
    """The month's incidents (opened in it, local time) by service, the total, and each."""
    start, end = months.bounds(year, month)
    incidents = list(db.session.scalars(
        select(Incident).where(Incident.kind == INCIDENT, Incident.created_at >= start,
                               Incident.created_at < end)
        .order_by(Incident.created_at, Incident.id)))
    each = list(costs(incidents, current_user).values())
    by_service: dict[int | None, Row] = {}
    for cost in each:
        named: list[tuple[int | None, str]] = [(s.id, s.name) for s in cost.incident.services]
        for key, name in named or [(None, _("No service"))]:
            by_service.setdefault(key, Row(name)).costs.append(cost)
    rows = sorted(by_service.values(), key=lambda row: (-row.incidents, row.name))
    return rows, Row(_("Every service"), each), each


def _month_asked() -> tuple[int, int]:
    return months.parse_month(request.args.get("month")) or months.current_month()


@bp.get("/admin/reports")
@role_required("moderator")
def monthly():
    asked = request.args.get("month")
    year, month = _month_asked()
    rows, total, each = month_rows(year, month)
    return render_template(
        "travaux/cost_reports.html", rows=rows, total=total, each=each,
        month_key=months.key(year, month), month_label=months.label(year, month),
        previous=months.key(*months.previous_month(year, month)),
        following=months.key(*months.next_month(year, month)),
        bad_month=bool(asked) and months.parse_month(asked) is None)


def _minutes(delta: timedelta | None) -> str:
    return "" if delta is None else f"{delta.total_seconds() / 60:.0f}"


def safe_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv(header: list[str], lines: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[safe_cell(cell) for cell in line] for line in lines])
    return out.getvalue()


@bp.get("/admin/reports.csv")
@role_required("moderator")
def monthly_csv():
    """The month per service (by=service, the page's table) or per incident (by=incident)."""
    year, month = _month_asked()
    rows, total, each = month_rows(year, month)
    if request.args.get("by") == "incident":
        name = f"incidents-{months.key(year, month)}.csv"
        text = _csv(["id", "title", "services", "impact", "opened_at", "resolved_at",
                     "threads", "affected", "duplicates", "minutes_to_promotion",
                     "minutes_to_first_update", "minutes_to_resolution"],
                    [[c.incident.id, c.incident.title,
                      ", ".join(s.name for s in c.incident.services), c.incident.impact,
                      c.incident.created_at.isoformat(),
                      c.incident.resolved_at.isoformat() if c.incident.resolved_at else "",
                      c.threads, c.affected, c.duplicates, _minutes(c.to_promotion),
                      _minutes(c.to_first_update), _minutes(c.to_resolution)] for c in each])
    else:
        name = f"services-{months.key(year, month)}.csv"
        text = _csv(["service", "incidents", "threads", "affected", "duplicates",
                     "median_minutes_to_promotion", "median_minutes_to_first_update",
                     "median_minutes_to_resolution"],
                    [[row.name, row.incidents, row.total("threads"), row.total("affected"),
                      row.total("duplicates"), _minutes(row.median("to_promotion")),
                      _minutes(row.median("to_first_update")),
                      _minutes(row.median("to_resolution"))] for row in [*rows, total]])
    # A BOM, so that spreadsheets read the accents as UTF-8.
    return Response("\ufeff" + text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


def init_app(app) -> None:
    """The page, its CSV, and what the incident page's staff panel asks (`incident_cost`)."""
    app.register_blueprint(bp)
    app.add_template_global(lambda incident: incident_cost(incident, current_user),
                            "incident_cost")
    app.add_template_filter(months.month_key, "month_key")
