"""The one source of "now" for the application, always timezone-aware UTC.

Tests move the clock with `travel(...)` instead of sleeping.
"""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """Current time in UTC, shifted by any travel in progress."""
    return datetime.now(UTC) + _offset


@contextmanager
def travel(delta: timedelta):
    """Move the clock forward by `delta` for the duration of the block."""
    global _offset
    previous, _offset = _offset, _offset + delta
    try:
        yield
    finally:
        _offset = previous
