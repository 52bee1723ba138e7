"""Who may do what. Role checks and view decorators shared by every domain.

Imports no domain: it only looks at the attributes every user object carries
(`is_authenticated`, `role`, `is_confirmed`).
"""

from functools import wraps

from flask import abort, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

# The role hierarchy: each role may do what the ones below it may.
RANK = {"member": 1, "moderator": 2, "admin": 3}


def role_at_least(role: str | None, minimum: str) -> bool:
    """True when `role` is `minimum` or a higher one (the models' `is_staff` ask this)."""
    return RANK.get(role or "", 0) >= RANK[minimum]


def has_role(user, role: str) -> bool:
    """True when `user` is logged in with `role` or a higher one."""
    return bool(getattr(user, "is_authenticated", False)) and role_at_least(user.role, role)


def is_staff(user) -> bool:
    """Moderators and admins."""
    return has_role(user, "moderator")


def is_admin(user) -> bool:
    return has_role(user, "admin")


def can_post(user) -> bool:
    """A confirmed member (or higher) may write."""
    return has_role(user, "member") and user.is_confirmed


def login_required(view):
    """Send guests to the login page, then back to where they were going."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            flash(_l("Please log in to continue."), "info")
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def role_required(role: str):
    """Guests go to the login page; logged-in users without `role` get a 403."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not has_role(current_user, role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def confirmed_required(view):
    """Acting needs a confirmed email address: writing, watching, saying "affected", changing
    the profile. Until then an account may only read, confirm, change its address, log out
    or delete itself."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_confirmed:
            flash(_l("Please confirm your email address first: the link is in the mail we "
                     "sent you."), "warning")
            return redirect(url_for("accounts.account"))
        return view(*args, **kwargs)

    return wrapped
