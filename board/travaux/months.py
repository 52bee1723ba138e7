"""Calendar months in the site's time zone: the history's headings, the reports' picker.

A month is written "YYYY-MM" in addresses; its bounds are the local midnights, in UTC.
"""

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date

from board.clock import now

_KEY = re.compile(r"(\d{4})-(\d{2})")


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def month_of(moment: datetime) -> tuple[int, int]:
    local = moment.astimezone(zone())
    return local.year, local.month


def month_key(moment: datetime) -> str:
    """"2026-11" for a moment of November 2026, local time."""
    year, month = month_of(moment)
    return f"{year:04d}-{month:02d}"


def parse_month(text: str | None) -> tuple[int, int] | None:
    """(year, month) from "YYYY-MM", or None for anything else."""
    match = _KEY.fullmatch((text or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return (year, month) if 1970 <= year <= 9998 and 1 <= month <= 12 else None


def current_month() -> tuple[int, int]:
    return month_of(now())


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month's first local midnight and the next month's, in UTC."""
    after = next_month(year, month)
    start = datetime(year, month, 1, tzinfo=zone())
    end = datetime(after[0], after[1], 1, tzinfo=zone())
    return start.astimezone(UTC), end.astimezone(UTC)


def label(year: int, month: int) -> str:
    """« Novembre 2026 » in the reader's language (Flask-Babel's month names)."""
    text = format_date(date(year, month, 1), "LLLL yyyy")
    return text[:1].upper() + text[1:]


def key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"
