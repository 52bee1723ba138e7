"""Dates and strings are worded by Babel exactly as before they were cached: the same texts in
both languages, for every date (summer and winter time included) and every distance in time,
and the language in force is followed when a block forces another one (mail)."""

from datetime import UTC, datetime, timedelta

import flask_babel
import pytest
from flask import render_template_string
from markupsafe import Markup, escape

from board import i18n
from board.clock import now


def babel_when(value: datetime) -> str:
    """`when` as Flask-Babel words it, call by call: the reference."""
    zone = flask_babel.gettext("%(city)s time", city=i18n.get_timezone_location(
        flask_babel.get_timezone(), locale=flask_babel.get_locale(), return_city=True))
    full = f"{flask_babel.format_datetime(value, 'EEEE d MMMM yyyy HH:mm')} ({zone})"
    delta = now() - value
    if abs(delta.total_seconds()) < 7 * 86400:
        shown = flask_babel.format_timedelta(-delta, add_direction=True, threshold=1.1)
    else:
        moment = f"{flask_babel.format_datetime(value, 'd MMM yyyy HH:mm')} ({zone})"
        shown = flask_babel.gettext("on %(moment)s", moment=moment)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.isoformat(), escape(full), escape(shown))


def sample_dates(reference: datetime) -> list[datetime]:
    dates = [reference - timedelta(seconds=s) for s in range(-90_000, 700_000, 373)]
    dates += [reference - timedelta(seconds=s) for s in (0, 1, 59, 60, 65, 67, 3599, 3961)]
    for year in (2025, 2026, 2027):  # around the changes of summer and winter time
        for month, day in ((3, 28), (10, 24)):
            start = datetime(year, month, day, tzinfo=UTC)
            dates += [start + timedelta(minutes=37 * n) for n in range(300)]
    return dates


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_dates_read_as_babel_writes_them(app, locale):
    with app.test_request_context(headers={"Accept-Language": locale}):
        reference = now()
        for value in sample_dates(reference):
            assert i18n.when(value) == babel_when(value), value
            assert i18n.moment(value) == (
                f"{flask_babel.format_datetime(value, 'd MMM yyyy HH:mm')} ({i18n.zone()})")
        for seconds in [-40_000_000, -86_400 * 45, -3_600.5, -0.4, 0, 0.6, 95, 86_400 * 400]:
            delta = timedelta(seconds=seconds)
            assert i18n.relative(delta) == flask_babel.format_timedelta(
                delta, add_direction=True, threshold=1.1)


def test_a_forced_language_is_followed_and_left(app):
    page = "{{ _('Community') }} | {{ value|when }} | {{ ngettext('%(num)d reply', " \
           "'%(num)d replies', 3) }}"
    value = now() - timedelta(hours=3)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        before = render_template_string(page, value=value)
        with flask_babel.force_locale("en"):
            forced = render_template_string(page, value=value)
            assert i18n.gettext("on %(moment)s", moment="x") == "on x"
        after = render_template_string(page, value=value)
    assert before.startswith("Communauté | ") and "il y a 3 heures" in before
    assert "heure de Paris" in before and "3 réponses" in before
    assert forced.startswith("Community | ") and "3 hours ago" in forced
    assert "Paris time" in forced and "3 replies" in forced
    assert after == before


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_days_and_labels_read_as_babel_writes_them(app, locale):
    from datetime import date

    from board.travaux import services

    days = [date(2025, 12, 20) + timedelta(days=n) for n in range(400)]
    with app.test_request_context(headers={"Accept-Language": locale}):
        for day in days:
            for pattern in ("d MMM yyyy", "LLLL yyyy", "EEEE d MMMM"):
                assert i18n.day_format(day, pattern) == flask_babel.format_date(day, pattern)
        for table in (services.LEVEL_LABELS, services.STATUS_LABELS, services.IMPACT_LABELS):
            for key, text in table.items():
                assert i18n.label(table, key) == str(text)  # Flask-Babel's lazy text
        own = i18n.label(services.LEVEL_LABELS, "major_outage")
        with flask_babel.force_locale("fr" if locale == "en" else "en"):
            other = i18n.label(services.LEVEL_LABELS, "major_outage")
            assert i18n.day_format(days[0], "LLLL yyyy") == flask_babel.format_date(
                days[0], "LLLL yyyy")
        assert i18n.label(services.LEVEL_LABELS, "major_outage") == own != other
    assert {own, other} == {"Major outage", "Panne majeure"}
