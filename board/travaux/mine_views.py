"""My services, as pages: the account page's section, the step after confirming an address,
and the link that switches "Mes services seulement" (board/travaux/mine.py)."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from board.extensions import db
from board.permissions import login_required
from board.travaux import forms, mine, services
from board.travaux.models import Service
from board.urls import safe_next

bp = Blueprint("travaux_mine", __name__)


def _form(**kwargs) -> forms.MyServicesForm:
    form = forms.MyServicesForm(**kwargs)
    form.services.choices = [(s.id, s.name) for s in services.all_services()]
    return form


def account_section() -> Markup:
    """The account page's "My services" card (registered in app.extensions
    ["account_sections"]: the accounts domain never imports Travaux)."""
    form = _form(formdata=None, services=sorted(mine.my_service_ids()),
                 next=url_for("accounts.account"))
    if not form.services.choices:
        return Markup("")
    return Markup(render_template("travaux/_my_services.html", form=form, step=False))


@bp.get("/account/services")
@login_required
def step():
    """The step after confirming an address: which services do you use? Skippable."""
    next_url = safe_next(request.args.get("next")) or "/"
    form = _form(formdata=None, services=sorted(mine.my_service_ids()), next=next_url)
    if not form.services.choices:
        return redirect(next_url)  # nothing to choose from yet
    return render_template("travaux/my_services.html", form=form, skip=next_url, step=True)


@bp.post("/account/services")
@login_required
def save():
    form = _form()
    next_url = safe_next(form.next.data) or url_for("accounts.account")
    if not form.validate_on_submit():
        abort(400)  # no CSRF token, or a service that is not offered
    mine.choose(current_user, form.services.data or [])
    flash(_("Your services are saved."), "success")
    return redirect(next_url)


@bp.get("/travaux/show/<any(mine,all):what>")
def show(what: str):
    """Show only my services, or all of them: a link that sets (or drops) the preference's
    cookie, then goes back. It changes nothing else, so it is a GET, as the guests' language
    switch is; a guest gets no cookie (they have no services), so their pages stay cached."""
    back = (safe_next(request.args.get("next")) or _referrer_path()
            or url_for("travaux.status"))
    response = redirect(back)
    if current_user.is_authenticated:
        if what == "mine":
            response.set_cookie(mine.ONLY_MINE_COOKIE, "1", max_age=365 * 86400,
                                httponly=True, samesite="Lax",
                                secure=current_app.config["SESSION_COOKIE_SECURE"])
        else:
            response.delete_cookie(mine.ONLY_MINE_COOKIE, httponly=True, samesite="Lax",
                                   secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _referrer_path() -> str | None:
    """The page the link was followed from, when it is one of ours (the banner's link is drawn
    once for every page, so it cannot name the page it is on)."""
    referrer = request.referrer or ""
    if not referrer.startswith(request.host_url):
        return None
    return safe_next("/" + referrer[len(request.host_url):])


def welcome_step() -> str | None:
    """Where a member goes once their address is confirmed: the choice of their services,
    when there are some to choose from."""
    if db.session.scalar(select(Service.id).limit(1)) is None:
        return None
    return url_for("travaux_mine.step")


def init_app(app) -> None:
    """The pages; the account page's section and the step after confirmation (hooks the
    accounts domain reads); what the templates ask about the member's services."""
    app.register_blueprint(bp)
    app.extensions.setdefault("account_sections", []).append(account_section)
    app.extensions["welcome_step"] = welcome_step
    app.jinja_env.globals.update(my_services=mine.my_service_ids,
                                 only_my_services=mine.only_mine)
    app.jinja_env.filters["mine_first"] = _mine_first


def _mine_first(operations):
    """A list of operations with the current member's first (unchanged for a guest)."""
    return mine.mine_first(operations, mine.my_service_ids())
