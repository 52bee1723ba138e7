"""The search page, and the OpenSearch description that lets a browser search the site."""

from datetime import date

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from board.extensions import db, limiter
from board.forum.models import Board
from board.search import services, similar
from board.search.models import KINDS
from board.urls import absolute
from board.visibility import visible_boards

bp = Blueprint("search", __name__)


def _date(name: str, errors: list[str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(_("The date %(value)s is not a date (year-month-day, e.g. 2026-03-31).",
                        value=raw[:20]))
        return None


def _query(errors: list[str]) -> services.Query:
    """The query from the address; what does not make sense is left out and said in errors."""
    args = request.args
    choice = {"kind": KINDS, "status": services.STATUSES, "sort": services.SORTS}
    picked = {name: args.get(name) if args.get(name) in allowed else None
              for name, allowed in choice.items()}
    return services.Query(text=args.get("q", ""), board=args.get("board") or None,
                          service=args.get("service") or None,
                          kind=picked["kind"], status=picked["status"],
                          since=_date("from", errors), until=_date("to", errors),
                          sort=picked["sort"] or services.RELEVANCE,
                          after=args.get("after") or None)


@bp.get("/search")
@limiter.limit("60 per minute")
def search():
    errors: list[str] = []
    query = _query(errors)
    boards = db.session.scalars(visible_boards(select(Board).order_by(Board.position,
                                                                      Board.name),
                                               current_user)).all()
    page = None
    if query.text.strip() and not errors:
        try:
            page = services.search(query, current_user,
                                   per_page=current_app.config.get("SEARCH_PER_PAGE", 20))
        except services.SearchError as error:
            errors.append(str(error))
    status = 400 if errors else 200
    return render_template("search/results.html", query=query, page=page, errors=errors,
                           boards=boards, kinds=KINDS), status


@bp.get("/search/similar")
@limiter.limit("120 per minute")
def similar_reports():
    """The box of the new-thread form, for the title typed so far (board.js asks as one
    types): ongoing operations, then similar open threads, as an HTML fragment."""
    return render_template("search/_similar.html", found=_similar(
        request.args.get("title", ""), request.args.get("service", type=int))), 200, {
        "Cache-Control": "private, no-cache"}


def _similar(title: str, service_id: int | None = None):
    return similar.similar(title, current_user, service_id)


def similar_box(title: str, viewer, service_id: int | None = None) -> Markup:
    """For the forum's new-thread form without JavaScript: the box for `title`, or nothing
    when there is nothing to show (the forum then publishes at once)."""
    found = similar.similar(title, viewer, service_id)
    return Markup(render_template("search/_similar.html", found=found)) if found else Markup("")


@bp.get("/opensearch.xml")
def opensearch():
    xml = render_template("search/opensearch.xml",
                          template=absolute(url_for("search.search")) + "?q={searchTerms}",
                          icon=absolute(url_for("static", filename="favicon.svg")),
                          self_url=absolute(url_for("search.opensearch")))
    return xml, 200, {"Content-Type": "application/opensearchdescription+xml; charset=utf-8"}
