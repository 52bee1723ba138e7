"""Languages and time zones: French by default, English on request, dates in Paris time.

A page shows dozens of dates and a hundred strings, so both are cheap here: each request
finds its language, zone and catalogue once (`_language`), where Flask-Babel looks them up
anew for every string and date; Babel's words for a pattern, a relative time or a zone are
asked of it once per language (`_formatter`, `_relative`, `_zone`), and the absolute texts
of a date once per language and date (`_absolute`), a table of lazy labels once per request
(`label`). The texts are Babel's own, unchanged: the caches only remember what it answered.
"""

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from functools import cache, lru_cache

from babel.core import Locale
from babel.dates import (
    TIMEDELTA_UNITS,
    UTC,
    DateTimeFormat,
    get_timezone_location,
    tokenize_pattern,
)
from babel.dates import format_timedelta as babel_timedelta
from babel.support import NullTranslations
from flask import current_app, g, has_app_context, has_request_context, request, session
from flask_babel import get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup, escape

from board.clock import now

LANGUAGE_COOKIE = "locale"
FULL = "EEEE d MMMM yyyy HH:mm"
SHORT = "d MMM yyyy HH:mm"


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


# The language in force ----------------------------------------------------------------------

class _Language:
    """What a page needs of the language and zone in force, looked up once: Flask-Babel finds
    the locale, the zone and the catalogue anew for every string and every date."""

    __slots__ = ("locale", "zone_info", "key", "translations", "zone_words", "formatters",
                 "labels")

    def __init__(self, locale: Locale, zone_info) -> None:
        self.locale, self.zone_info = locale, zone_info
        self.key = (str(locale), str(zone_info))
        self.translations = get_translations()
        self.zone_words: str | None = None
        self.formatters: dict[str, Callable[[datetime], str]] = {}
        self.labels: dict[int, dict[str, str]] = {}


def _language() -> _Language:
    """The language of this request (or command), kept on `g` and found again when it changes:
    `force_locale` (mail in its reader's language), a language switch, `refresh()`."""
    # Flask-Babel keeps the locale and zone it chose on g._flask_babel; reading them there
    # is what makes this cheap. Without them, its get_locale() and get_timezone() decide.
    state = g._get_current_object()
    chosen = getattr(state, "_flask_babel", None)
    locale = getattr(chosen, "babel_locale", None) or get_locale()
    zone_info = getattr(chosen, "babel_tzinfo", None) or get_timezone()
    language = state.__dict__.get("_language")
    if language is None or language.locale is not locale or language.zone_info is not zone_info:
        language = state._language = _Language(locale, zone_info)
    return language


def language_key() -> tuple[str, str]:
    """The language and zone in force, as a key: what a text or a date drawn in them
    depends on."""
    return _language().key


def translations() -> NullTranslations:
    """The catalogue of the language in force (Flask-Babel's, found once per language)."""
    if not has_app_context():
        return get_translations()
    return _language().translations


def gettext(string: str, **variables) -> str:
    """Flask-Babel's gettext, through the catalogue found once per request."""
    text = translations().gettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return translations().ngettext(singular, plural, num) % variables


def label(table: Mapping[str, object], key: str) -> str:
    """`table[key]`, a text marked by lazy_gettext at import time, in the language in force:
    each table is translated once per language and request, where a lazy text is looked up
    anew every time it is shown (the uptime bars show a state's words 90 times a service)."""
    if not has_app_context():
        return str(table[key])
    language = _language()
    words = language.labels.get(id(table))
    if words is None:
        words = language.labels[id(table)] = {name: str(text) for name, text in table.items()}
    return words[key]


# Jinja's own gettext and ngettext of the i18n extension (newstyle), with the catalogue looked
# up once, and given the evaluation context only: a callable given the whole context gets a
# copy of it made at every call inside a loop.
@pass_eval_context
def _template_gettext(eval_ctx, string: str, **variables):
    """The text, escaped as a format string when the template autoescapes."""
    text = _language().translations.gettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)
    # A text with no variables and no "%" formats to itself: skip the formatting.
    return text % variables if variables or "%" in text else text


@pass_eval_context
def _template_ngettext(eval_ctx, singular: str, plural: str, num: int, **variables):
    variables.setdefault("num", num)
    text = _language().translations.ngettext(singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


# Dates ------------------------------------------------------------------------------------

# The fields whose text depends on one part of the date only (babel.dates.DateTimeFormat):
# each one's text is remembered per language, field and value of that part.
_PART: dict[str, Callable[[datetime], int]] = {
    "E": datetime.weekday, "d": lambda v: v.day, "M": lambda v: v.month,
    "L": lambda v: v.month, "y": lambda v: v.year, "H": lambda v: v.hour,
    "m": lambda v: v.minute,
}


@cache
def _formatter(locale_key: str, pattern: str) -> Callable[[datetime], str]:
    """`pattern` for a language, parsed once: the text Babel's format_datetime gives, each
    field's words looked up once (a field that depends on more than one part of the date is
    asked of Babel every time)."""
    locale = Locale.parse(locale_key)
    pieces: list = []
    for kind, token in tokenize_pattern(pattern):
        if kind == "chars":
            pieces.append(token)
        else:
            char, width = token
            part = _PART.get(char) if char != "E" or width >= 3 else None
            pieces.append((char * width, part, {}))

    def formatted(value: datetime) -> str:
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            name, part, seen = piece
            if part is None:
                out.append(DateTimeFormat(value, locale)[name])
                continue
            key = part(value)
            text = seen.get(key)
            if text is None:
                text = seen[key] = DateTimeFormat(value, locale)[name]
            out.append(text)
        return "".join(out)

    return formatted


def _pattern(language: _Language, pattern: str) -> Callable[[datetime], str]:
    formatter = language.formatters.get(pattern)
    if formatter is None:
        formatter = language.formatters[pattern] = _formatter(language.key[0], pattern)
    return formatter


def _local_format(language: _Language, value: datetime, pattern: str) -> str:
    formatter = _pattern(language, pattern)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(language.zone_info)
    if hasattr(language.zone_info, "normalize"):  # pytz, as Babel does
        local = language.zone_info.normalize(local)
    return formatter(local)


def local_format(value: datetime, pattern: str) -> str:
    """`value` in the zone and language in force, as Flask-Babel's format_datetime writes it."""
    return _local_format(_language(), value, pattern)


def day_format(value: date, pattern: str) -> str:
    """A calendar day (no zone to convert it to) in the language in force, as Flask-Babel's
    format_date writes it: the uptime bars word 90 days per service."""
    # The formatter asks a day for its fields only (d, M, L, y, E): no hour, no zone.
    return _pattern(_language(), pattern)(value)  # type: ignore[arg-type]


def _zone(language: _Language) -> str:
    if language.zone_words is None:
        city = get_timezone_location(language.zone_info, locale=language.locale,
                                     return_city=True)
        language.zone_words = language.translations.gettext("%(city)s time") % {"city": city}
    return language.zone_words


def zone() -> str:
    """The zone every date is shown in, in words: « heure de Paris », "Paris time"."""
    return _zone(_language())


@cache
def _relative(locale_key: str, unit: str, value: int, future: bool) -> str:
    seconds = value * dict(TIMEDELTA_UNITS)[unit]
    return babel_timedelta(timedelta(seconds=seconds if future else -seconds), granularity=unit,
                           threshold=math.inf, add_direction=True,
                           locale=Locale.parse(locale_key))


def _relative_parts(delta: timedelta) -> tuple[str, int, bool]:
    # Babel's choice of unit and value (format_timedelta to the second, threshold 1.1: "1 day"
    # from 26.4 hours on), and the direction: what the words are asked of it for.
    seconds = delta.total_seconds()
    for unit, per_unit in TIMEDELTA_UNITS:
        amount = abs(seconds) / per_unit
        if amount >= 1.1 or unit == "second":
            if unit == "second" and amount > 0:
                amount = max(1, amount)
            return unit, int(round(amount)), seconds >= 0
    raise AssertionError("not reached: the last unit is the second")


def _relative_words(language: _Language, delta: timedelta) -> str:
    # The words for each unit, value and direction are asked of Babel once.
    return _relative(language.key[0], *_relative_parts(delta))


def relative(delta: timedelta) -> str:
    """« dans 3 heures », "2 days ago": Babel's format_timedelta(delta, add_direction=True,
    threshold=1.1)."""
    return _relative_words(_language(), delta)


@lru_cache(maxsize=2048)
def _absolute(key: tuple[str, str], value: datetime) -> tuple[str, str]:
    """The tooltip and the « le 26 nov. 2026 18:30 (heure de Paris) » of `when`, which
    depend on the language, the zone and the date only: pages show the same dates again."""
    language = _language()
    zone_words = _zone(language)
    full = f"{_local_format(language, value, FULL)} ({zone_words})"
    on = language.translations.gettext("on %(moment)s") % {
        "moment": f"{_local_format(language, value, SHORT)} ({zone_words})"}
    return full, on


def when_shown(value: datetime) -> tuple[str, int, bool] | None:
    """What `when(value)` shows now besides the date and the language: the unit, amount and
    direction of its relative words, or None when it shows the date (older than a week, or
    the static site). Rendered parts kept for what they show key by it (board/forum/rows.py)."""
    delta = value - now()
    if abs(delta.total_seconds()) < 7 * 86400 and not g.get("static_export"):
        return _relative_parts(delta)
    return None


def when(value: datetime | None) -> Markup:
    """A <time> element: the full local date and zone in the tooltip; on the page, the
    relative time for the last week, else the date. The static site is read during an
    outage, long after it was written: there the page always shows the date and zone."""
    if value is None:
        return Markup("")
    language = _language()
    full, on = _absolute(language.key, value)
    relative_parts = when_shown(value)
    shown = _relative(language.key[0], *relative_parts) if relative_parts else on
    return Markup(f'<time datetime="{escape(value.isoformat())}" title="{escape(full)}">'
                  f"{escape(shown)}</time>")


def moment(value: datetime | None, with_zone: bool = True) -> str:
    """An absolute date and time with its zone: « 26 nov. 2026 18:30 (heure de Paris) ».
    Without the zone for the start of a window whose end carries it."""
    if not value:
        return ""
    language = _language()
    shown = _local_format(language, value, SHORT)
    return f"{shown} ({_zone(language)})" if with_zone else shown


def long_window(start: datetime, end: datetime | None) -> str:
    """A planned window in full words, for mail: « du mardi 1 décembre 2026 à 22:00 au
    mercredi 2 décembre 2026 à 02:00 (heure de Paris) »."""

    def spelled(moment: datetime) -> str:
        return gettext("%(date)s at %(time)s", date=local_format(moment, "EEEE d MMMM yyyy"),
                       time=local_format(moment, "HH:mm"))

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
    # In place of the callables Flask-Babel installed (same texts, one catalogue look-up).
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext,
                                 ngettext=_template_ngettext)
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.globals["current_locale"] = lambda: _language().key[0]
