"""Register, confirm, log in and out, reset a password, manage the account."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from limits import parse_many
from sqlalchemy import func, select

from board.accounts import forms, services
from board.accounts.models import User
from board.accounts.services import AccountError
from board.extensions import db, limiter
from board.i18n import LANGUAGE_COOKIE, select_locale
from board.lists import services as lists
from board.permissions import confirmed_required, login_required, role_required
from board.urls import safe_next

bp = Blueprint("accounts", __name__)

TOKEN_ERRORS = {
    "expired": lambda: _("This link has expired. Please ask for a new one."),
    "invalid": lambda: _("This link is not valid, or has already been used."),
    "email-taken": lambda: _("This address is already used by another account."),
}


def _log_in(user: User, remember: bool = False) -> None:
    services.start_session(user)
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect("/")
    form = forms.RegisterForm()
    form.lists.choices = [(m.slug, m.name) for m in lists.all_lists()]
    if form.validate_on_submit():
        problem = services.name_problem(form.name.data)
        if problem:
            form.name.errors.append(str(forms.NAME_ERRORS[problem]))
        else:
            services.register(form.email.data, form.name.data, form.password.data,
                              locale=select_locale(), lists=form.lists.data or [])
            return render_template("accounts/check_mail.html", email=form.email.data)
    return render_template("accounts/register.html", form=form)


@bp.get("/confirm/<token>")
def confirm(token: str):
    """Show a button: mail scanners that follow links must not confirm anything."""
    return render_template("accounts/confirm.html", form=forms.ConfirmForm(), token=token)


@bp.post("/confirm/<token>")
def confirm_post(token: str):
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.confirm_email(token)
    except AccountError as error:
        flash(TOKEN_ERRORS[str(error)](), "error")
        return redirect(url_for("accounts.account" if current_user.is_authenticated
                                else "accounts.login"))
    # The link proves the mailbox, not the password: it never logs anybody in. What comes
    # next may be a step another domain asks for (app.extensions["welcome_step"]).
    flash(_("Thank you, your email address is confirmed."), "success")
    step = current_app.extensions.get("welcome_step")
    after = step() if step else None
    if current_user.is_authenticated:
        return redirect(after or "/")
    return redirect(url_for("accounts.login", next=after))


@bp.post("/confirm/resend")
@login_required
@limiter.limit("5 per hour")
def resend_confirmation():
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    if not current_user.is_confirmed:
        services.resend_confirmation(current_user)
    flash(_("A new confirmation link is on its way to %(email)s.", email=current_user.email),
          "info")
    return redirect(url_for("accounts.account"))


def _login_email() -> str:
    return request.form.get("email", "").strip().lower()[:254]


def _login_pair() -> str:
    return f"login:{get_remote_address()}:{_login_email()}"


def _login_failed(response) -> bool:
    return response.status_code != 302


# Per client address, every attempt counts; per (address, account), only failures do: a
# stranger who exhausts them locks out their own address, never the account's owner.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT"],
               methods=["POST"], key_func=_login_pair, deduct_when=_login_failed)
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or "/")
    form = forms.LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            _log_in(user, remember=form.remember.data)
            return redirect(next_url or "/")
        if _account_under_attack():
            return _too_many_failures(form, next_url)
        form.password.errors.append(_("Wrong email address or password."))
    return render_template("accounts/login.html", form=form, next=next_url)


def _account_under_attack() -> bool:
    """Count a wrong password against the account, from wherever it came; True past the
    limit. The count only ever slows wrong passwords: a right one is always let in."""
    strategy, config = limiter.limiter, current_app.config
    # The key carries the limiter's prefix, as Flask-Limiter's own keys do (shared Redis).
    key = (config.get("RATELIMIT_KEY_PREFIX", ""), "login-account", _login_email())
    limits = parse_many(config["LOGIN_FAILURES_PER_ACCOUNT"])
    under_attack = not all(strategy.test(limit, *key) for limit in limits)
    for limit in limits:
        strategy.hit(limit, *key)
    return under_attack


def _too_many_failures(form, next_url):
    form.password.errors.append(_(
        "Too many wrong passwords were tried for this account recently. If it is yours, "
        "your right password still works."))
    retry = max(limit.get_expiry() for limit in
                parse_many(current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]))
    return render_template("accounts/login.html", form=form, next=next_url), 429, {
        "Retry-After": str(retry)}


@bp.post("/logout")
def logout():
    """End this login only (its copied cookies die with it); the others stay open."""
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        services.end_session(current_user)
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect("/")


@bp.post("/account/alerts")
@role_required("admin")
def update_alerts():
    """An admin asks for (or stops) the mail of suspected incidents."""
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    services.set_spike_alerts(current_user, request.form.get("spike_alerts") == "y")
    flash(_("Your alerts are saved."), "success")
    return redirect(url_for("accounts.account"))


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere():
    """End every login of the account, on every device, this one included."""
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    services.end_all_sessions(current_user)
    logout_user()
    flash(_("You are logged out everywhere: on every device, logging in again is needed."),
          "info")
    return redirect(url_for("accounts.login"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
def reset_request():
    form = forms.ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        return render_template("accounts/check_mail.html", email=form.email.data, reset=True)
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    try:
        user = services.user_for_reset(token)
    except AccountError as error:
        flash(TOKEN_ERRORS[str(error)](), "error")
        return redirect(url_for("accounts.reset_request"))
    form = forms.ResetForm()
    if form.validate_on_submit():
        services.set_password(user, form.password.data)
        _log_in(user)
        flash(_("Your password has been changed."), "success")
        return redirect("/")
    return render_template("accounts/reset.html", form=form)


@bp.get("/account")
@login_required
def account():
    return _account_page()


def _account_page(profile=None, email=None, password=None, delete=None, status=200):
    profile = profile or forms.ProfileForm(obj=current_user, formdata=None)
    if profile.locale.data is None:
        profile.locale.data = ""
    all_lists, mine = lists.all_lists(), lists.member_subscriptions(current_user)
    subscribed = sorted(m.slug for m in all_lists
                        if m.id in mine and mine[m.id].status == "active")
    lists_form = forms.ListsForm(formdata=None, lists=subscribed)
    lists_form.lists.choices = [(m.slug, m.name) for m in all_lists]
    return render_template(
        "accounts/account.html",
        profile=profile,
        lists_form=lists_form,
        email_form=email or forms.EmailForm(formdata=None),
        password_form=password or forms.PasswordForm(formdata=None),
        delete_form=delete or forms.DeleteForm(formdata=None),
        confirm_form=forms.ConfirmForm(),
        # Cards other domains add (app.extensions["account_sections"]): accounts imports none.
        sections=[section() for section in current_app.extensions.get("account_sections", ())],
    ), status


@bp.post("/account/profile")
@confirmed_required
def update_profile():
    form = forms.ProfileForm()
    if form.validate_on_submit():
        try:
            services.update_profile(current_user, form.name.data, form.locale.data)
        except AccountError as error:
            form.name.errors.append(str(forms.NAME_ERRORS[str(error)]))
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("accounts.account"))
    return _account_page(profile=form, status=422)


@bp.post("/account/email")
@login_required
@limiter.limit("10 per hour")
def change_email():
    form = forms.EmailForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(current_user, form.email.data, form.password.data)
        except AccountError:
            form.password.errors.append(_("Wrong password."))
        else:
            flash(_("To finish, follow the link we sent to %(email)s.", email=form.email.data),
                  "info")
            return redirect(url_for("accounts.account"))
    return _account_page(email=form, status=422)


@bp.post("/account/lists")
@login_required
def update_lists():
    form = forms.ListsForm()
    form.lists.choices = [(m.slug, m.name) for m in lists.all_lists()]
    if not form.validate_on_submit():
        abort(400)
    try:
        lists.set_member_subscriptions(current_user, set(form.lists.data or []),
                                       locale=select_locale())
    except lists.ListError:
        flash(_("Confirm your email address first: see above."), "warning")
    else:
        flash(_("Your mailing lists are saved."), "success")
    return redirect(url_for("accounts.account"))


@bp.get("/account/email/<token>")
def confirm_email_change(token: str):
    return render_template("accounts/confirm.html", form=forms.ConfirmForm(), token=token,
                           email_change=True)


@bp.post("/account/email/<token>")
def confirm_email_change_post(token: str):
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    keep = current_user.session_key if current_user.is_authenticated else None
    try:
        user = services.confirm_email_change(token, keep=keep)
    except AccountError as error:
        flash(TOKEN_ERRORS[str(error)](), "error")
        return redirect(url_for("accounts.account"))
    flash(_("Your email address is now %(email)s.", email=user.email), "success")
    return redirect(url_for("accounts.account"))


@bp.post("/account/password")
@confirmed_required
@limiter.limit("10 per hour")
def change_password():
    form = forms.PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.password.data)
        except AccountError:
            form.current.errors.append(_("Wrong password."))
        else:
            flash(_("Your password has been changed, and your other devices are logged out."),
                  "success")
            return redirect(url_for("accounts.account"))
    return _account_page(password=form, status=422)


@bp.post("/account/delete")
@login_required
@limiter.limit("10 per hour")
def delete_account():
    """An account whose address was never confirmed may delete itself (it never wrote)."""
    form = forms.DeleteForm()
    if current_user.is_confirmed:
        abort(403)
    if form.validate_on_submit():
        try:
            services.delete_unconfirmed(current_user, form.password.data)
        except AccountError:
            form.password.errors.append(_("Wrong password."))
        else:
            logout_user()
            flash(_("Your account is deleted."), "info")
            return redirect("/")
    return _account_page(delete=form, status=422)


@bp.post("/language")
def set_language():
    """Switch the interface language, remembered in a cookie and on the account."""
    locale = request.form.get("locale", "")
    response = redirect(safe_next(request.form.get("next")) or "/")
    if locale in current_app.config["LANGUAGES"]:
        _remember_language(response, locale)
        if current_user.is_authenticated:
            services.set_locale(current_user, locale)
    return response


@bp.get("/language/<locale>")
def choose_language(locale: str):
    """A guest's language switch: a link that only sets the language cookie (no session, no
    CSRF token: nothing else changes), then back to the page."""
    if locale not in current_app.config["LANGUAGES"]:
        abort(404)
    response = redirect(safe_next(request.args.get("next")) or "/")
    _remember_language(response, locale)
    return response


def _remember_language(response, locale: str) -> None:
    config = current_app.config
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=365 * 86400, httponly=True,
                        samesite="Lax", secure=config["SESSION_COOKIE_SECURE"])


@bp.get("/admin/users")
@role_required("admin")
def admin_users():
    query = request.args.get("q", "").strip()[:100]
    stmt = select(User).order_by(User.created_at.desc(), User.id.desc())
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.where(func.lower(User.name).like(pattern) | User.email.like(pattern))
    page = db.paginate(stmt, per_page=50, max_per_page=100)
    return render_template("accounts/admin_users.html", page=page, query=query,
                           form=forms.UserAdminForm(formdata=None))


@bp.post("/admin/users/<int:user_id>")
@role_required("admin")
def admin_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.UserAdminForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.update_user(user, form.role.data, form.disabled.data, current_user)
    except AccountError:
        flash(_("You cannot change your own role or disable your own account."), "error")
    else:
        flash(_("%(name)s is saved.", name=user.name), "success")
    return redirect(url_for("accounts.admin_users", q=request.args.get("q") or None))
