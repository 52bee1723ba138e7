"""Reading the stored uptime: the bars of `/travaux/`, a service's page, its JSON in the API
and the export, and staff hiding a day's community marks. Nothing here computes minutes
from the history: it reads what board/travaux/uptime.py stored (two queries for 90 days of
every service, whatever the length of history)."""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from board import i18n
from board.clock import now
from board.extensions import db
from board.pagecache import guest_cached
from board.permissions import is_staff, role_required
from board.travaux import services
from board.travaux.models import Incident, Service
from board.travaux.stamps import travaux_stamp
from board.travaux.uptime import (
    DOWN_STATES,
    DOWNTIME_WEIGHT,
    day_bounds,
    hide_marks,
    local_day,
    show_marks,
    zone,
)
from board.travaux.uptime_models import CommunityDay, UptimeDay
from board.visibility import visible_day_marks

bp = Blueprint("travaux_uptime", __name__)
DAYS = 90
MAX_DAYS = 366
_STATES = (*DOWN_STATES, "maintenance")


@dataclass
class Day:
    """One service's day as the pages show it."""

    day: date
    total: int  # minutes in the day (23 or 25 hours at DST), or so far today
    minutes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_STATES, 0))
    operations: list[dict] = field(default_factory=list)
    reports: int = 0
    affected: int = 0
    hidden_reason: str | None = None

    @property
    def state(self) -> str:
        """The worst state of the day: what its bar shows."""
        for state in reversed(DOWN_STATES):
            if self.minutes[state]:
                return state
        return "maintenance" if self.minutes["maintenance"] else "operational"

    @property
    def down(self) -> float:
        return sum(self.minutes[s] * DOWNTIME_WEIGHT[s] for s in DOWN_STATES)

    @property
    def counted(self) -> int:
        """The minutes uptime counts: maintenance is left out, as Statuspage does."""
        return max(self.total - self.minutes["maintenance"], 0)

    @property
    def has_marks(self) -> bool:
        return bool(self.reports or self.affected)


def uptime_of(days: list[Day]) -> float | None:
    """The uptime of these days in percent, rounded down (99.999 is not 100), None when no
    minute counts (a day all under maintenance)."""
    counted = sum(d.counted for d in days)
    if not counted:
        return None
    value = max(0.0, 100.0 * (1 - sum(d.down for d in days) / counted))
    return math.floor(value * 100) / 100


def percent(value: float | None) -> str:
    """« 99,95 % », or a dash when nothing counts."""
    if value is None:
        return "—"
    return _("%(value)s %%", value=format_decimal(value, format="0.00"))


def read_days(service_ids: list[int], first: date, last: date, viewer) -> dict[int, list[Day]]:
    """Each service's days from `first` to `last`, oldest first, from the stored rows: one
    query for the official track, one for the community's (as `viewer` may see it)."""
    tz, moment = zone(), now()
    today = local_day(moment, tz)
    lengths, day = [], first
    while day <= last:
        start, end = day_bounds(day, tz)
        end = min(end, moment) if day == today else end
        lengths.append((day, max(int((end - start).total_seconds() // 60), 0)))
        day += timedelta(days=1)
    found = {sid: {d: Day(d, total) for d, total in lengths} for sid in service_ids}
    if not service_ids:
        return {}
    official = select(UptimeDay).where(UptimeDay.service_id.in_(service_ids),
                                       UptimeDay.day >= first, UptimeDay.day <= last)
    for row in db.session.scalars(official):
        target = found[row.service_id][row.day]
        target.minutes = {"degraded": row.degraded_minutes, "partial_outage": row.partial_minutes,
                          "major_outage": row.major_minutes,
                          "maintenance": row.maintenance_minutes}
        target.operations = row.operations
    community = visible_day_marks(
        select(CommunityDay).where(CommunityDay.service_id.in_(service_ids),
                                   CommunityDay.day >= first, CommunityDay.day <= last),
        viewer, CommunityDay)
    for mark in db.session.scalars(community):
        target = found[mark.service_id][mark.day]
        target.reports, target.affected = mark.reports, mark.affected
        target.hidden_reason = mark.hidden_reason
    return {sid: list(days.values()) for sid, days in found.items()}


@dataclass
class Bars:
    days: list[Day]

    @property
    def uptime(self) -> float | None:
        return uptime_of(self.days)


def uptime_bars(service_list) -> dict[int, Bars]:
    """The template global of `/travaux/`: every listed service's last 90 days."""
    today = local_day(now())
    days = read_days([s.id for s in service_list], today - timedelta(days=DAYS - 1), today,
                     current_user)
    return {sid: Bars(found) for sid, found in days.items()}


def day_label(day: date) -> str:
    return i18n.day_format(day, "d MMM yyyy")


def month_label(month: date) -> str:
    return i18n.day_format(month, "LLLL yyyy")


def state_label(state: str) -> str:
    return services.level_label(state)


def _months(service: Service, count: int = 12) -> list[dict]:
    today = local_day(now())
    first = date(today.year, today.month, 1)
    for _step in range(count - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    days = read_days([service.id], first, today, current_user)[service.id]
    months: dict[date, list[Day]] = {}
    for day in days:
        months.setdefault(date(day.day.year, day.day.month, 1), []).append(day)
    return [{"month": month, "uptime": uptime_of(found),
             "minutes": {s: sum(d.minutes[s] for d in found) for s in _STATES},
             "operations": len({o["id"] for d in found for o in d.operations})}
            for month, found in reversed(months.items())]


def get_service(slug: str) -> Service:
    """The service at `slug`; abort(404) when there is none."""
    return db.first_or_404(select(Service).where(Service.slug == slug))


class MarksForm(FlaskForm):
    day = HiddenField(validators=[DataRequired()])
    reason = StringField(validators=[Length(max=300)])


@bp.get("/travaux/services/<slug>")
@guest_cached(travaux_stamp)
def service(slug: str):
    service = get_service(slug)
    overview = services.overview(with_services=False)
    today = local_day(now())
    days = read_days([service.id], today - timedelta(days=DAYS - 1), today, current_user)
    operations = db.paginate(
        select(Incident).where(Incident.services.any(Service.id == service.id))
        .order_by(Incident.created_at.desc(), Incident.id.desc()), per_page=20, max_per_page=50)
    return render_template(
        "travaux/service.html", service=service, status=overview.status_of(service),
        recent=Bars(days[service.id]), months=_months(service), operations=operations,
        marks_form=MarksForm(formdata=None) if is_staff(current_user) else None)


@bp.post("/travaux/services/<slug>/marks")
@role_required("moderator")
def marks(slug: str):
    service = get_service(slug)
    form = MarksForm()
    back = url_for("travaux_uptime.service", slug=service.slug, _anchor="community")
    if not form.validate_on_submit():
        flash(_("Your form has expired or was not sent from this site. Please reload the page "
                "and try again."), "error")
        return redirect(back)
    try:
        day = date.fromisoformat(form.day.data)
        if request.form.get("show"):
            show_marks(service, day, current_user)
            flash(_("The members' marks of this day are shown again."), "success")
        else:
            hide_marks(service, day, current_user, form.reason.data or "")
            flash(_("The members' marks of this day are hidden."), "success")
    except ValueError as error:
        messages = {"reason": _("Say why these marks were no real problem."),
                    "nothing": _("Members marked nothing on this day.")}
        flash(messages.get(str(error), _("This is not a day.")), "error")
    return redirect(back)


def uptime_document(service: Service, days: int) -> dict:
    """A service's uptime per day, as the API and the export give it (a guest's view)."""
    today = local_day(now())
    found = read_days([service.id], today - timedelta(days=days - 1), today, current_user)
    found_days = found[service.id]
    return {
        "service": service.slug,
        "name": service.name,
        "timezone": str(zone()),
        "days": len(found_days),
        "uptime_percent": uptime_of(found_days),
        "method": "major outage minutes count as down, partial outage minutes as 30 % down, "
                  "degraded performance as up; maintenance minutes are left out",
        "per_day": [{
            "date": d.day.isoformat(), "state": d.state, "minutes_in_day": d.total,
            "degraded_minutes": d.minutes["degraded"],
            "partial_outage_minutes": d.minutes["partial_outage"],
            "major_outage_minutes": d.minutes["major_outage"],
            "maintenance_minutes": d.minutes["maintenance"],
            "uptime_percent": uptime_of([d]),
            "operations": [o["id"] for o in d.operations],
            "community": {"reports": d.reports, "affected": d.affected},
        } for d in found_days],
    }


@bp.get("/api/v1/services/<slug>/uptime")
def api_uptime(slug: str):
    service = db.session.scalar(select(Service).where(Service.slug == slug))
    if service is None:
        return jsonify({"error": "not_found", "message": f"No service {slug!r}."}), 404
    days = request.args.get("days", str(DAYS))
    if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
        return jsonify({"error": "invalid",
                        "message": f"'days' is a whole number from 1 to {MAX_DAYS}."}), 400
    response = jsonify(uptime_document(service, int(days)))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def init_app(app) -> None:
    """The service pages, the API's uptime, and the bars' template globals."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(uptime_bars=uptime_bars, uptime_percent=percent,
                                 uptime_day_label=day_label, uptime_state_label=state_label,
                                 uptime_month_label=month_label, uptime_zone=i18n.zone)
