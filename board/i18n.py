"""Languages and time zones: French by default, English on request, dates in Paris time."""

from datetime import datetime, timedelta

from flask import current_app, request, session
from flask_babel import format_datetime, format_timedelta, get_locale, gettext
from flask_login import current_user
from markupsafe import Markup, escape

from board.clock import now


def select_locale() -> str:
    """The user's preference, then the session's choice, then Accept-Language, then the default."""
    languages = current_app.config["LANGUAGES"]
    user_locale = getattr(current_user, "locale", None) if current_user else None
    for choice in (user_locale, session.get("locale")):
        if choice in languages:
            return choice
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def when(value: datetime | None) -> Markup:
    """A <time> element: full local date in the tooltip, relative time on the page."""
    if value is None:
        return Markup("")
    full = format_datetime(value, "medium")
    delta = now() - value
    if abs(delta.total_seconds()) < 7 * 86400:
        shown = format_timedelta(-delta, add_direction=True, threshold=1.1)
    else:
        shown = format_datetime(value, "d MMM yyyy HH:mm")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.isoformat(), escape(full), escape(shown)
    )


def moment(value: datetime | None) -> str:
    """An absolute date and time, in Paris time: « 26 nov. 2026 18:30 »."""
    return format_datetime(value, "d MMM yyyy HH:mm") if value else ""


def duration(delta: timedelta) -> str:
    """A duration to the minute: « 45 min », « 2 h 05 min », « 3 d 4 h »."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return gettext("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return gettext("%(hours)d h %(minutes)02d min", hours=hours, minutes=minutes)
    return gettext("%(minutes)d min", minutes=minutes)


def init_app(app) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
