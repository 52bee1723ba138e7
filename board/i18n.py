"""Languages and time zones: French by default, English on request, dates in Paris time."""

from datetime import datetime, timedelta

from babel.dates import get_timezone_location
from flask import current_app, g, has_request_context, request, session
from flask_babel import format_datetime, format_timedelta, get_locale, get_timezone, gettext
from flask_login import current_user
from markupsafe import Markup, escape

from board.clock import now

LANGUAGE_COOKIE = "locale"


def select_locale() -> str:
    """The user's preference, then the session's choice, then Accept-Language, then the default.
    Outside a request (the list listener, a command), the site's default language."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user_locale = getattr(current_user, "locale", None) if current_user else None
    # The cookie of the language links; the session's choice, from before them.
    for choice in (user_locale, request.cookies.get(LANGUAGE_COOKIE), session.get("locale")):
        if choice in languages:
            return choice
    return guest_locale(None, request.accept_languages)


def guest_locale(cookie: str | None, accept_languages) -> str:
    """A guest's language: the cookie their language link set, then Accept-Language, then
    the default. The guest cache (board/pagecache.py) keys pages by it, before Flask."""
    languages = current_app.config["LANGUAGES"]
    if cookie in languages:
        return cookie
    return accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def zone() -> str:
    """The zone every date is shown in, in words: « heure de Paris », "Paris time"."""
    city = get_timezone_location(get_timezone(), locale=get_locale(), return_city=True)
    return gettext("%(city)s time", city=city)


def when(value: datetime | None) -> Markup:
    """A <time> element: the full local date and zone in the tooltip; on the page, the
    relative time for the last week, else the date. The static site is read during an
    outage, long after it was written: there the page always shows the date and zone."""
    if value is None:
        return Markup("")
    full = f"{format_datetime(value, 'EEEE d MMMM yyyy HH:mm')} ({zone()})"
    delta = now() - value
    if abs(delta.total_seconds()) < 7 * 86400 and not g.get("static_export"):
        shown = format_timedelta(-delta, add_direction=True, threshold=1.1)
    else:
        shown = gettext("on %(moment)s", moment=moment(value))
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.isoformat(), escape(full), escape(shown)
    )


def moment(value: datetime | None, with_zone: bool = True) -> str:
    """An absolute date and time with its zone: « 26 nov. 2026 18:30 (heure de Paris) ».
    Without the zone for the start of a window whose end carries it."""
    if not value:
        return ""
    shown = format_datetime(value, "d MMM yyyy HH:mm")
    return f"{shown} ({zone()})" if with_zone else shown


def long_window(start: datetime, end: datetime | None) -> str:
    """A planned window in full words, for mail: « du mardi 1 décembre 2026 à 22:00 au
    mercredi 2 décembre 2026 à 02:00 (heure de Paris) »."""

    def spelled(moment: datetime) -> str:
        return gettext("%(date)s at %(time)s", date=format_datetime(moment, "EEEE d MMMM yyyy"),
                       time=format_datetime(moment, "HH:mm"))

    if end is None:
        return gettext("from %(start)s (%(zone)s)", start=spelled(start), zone=zone())
    return gettext("from %(start)s to %(end)s (%(zone)s)", start=spelled(start),
                   end=spelled(end), zone=zone())


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
