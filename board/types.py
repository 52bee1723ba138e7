"""Column types and index options shared by every domain."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index
from sqlalchemy.types import TypeDecorator

# Index options of PostgreSQL alone, attached when an application on PostgreSQL starts: named
# in a model (postgresql_where=...), they make SQLAlchemy load its PostgreSQL dialect, 2 MB of
# every worker's memory, into processes that run on SQLite.
_POSTGRESQL_OPTIONS: list[tuple[Index, dict]] = []


def postgresql_options(index: Index, **options) -> Index:
    """`index`, given `options` (as `postgresql_<name>=value`) on PostgreSQL only."""
    _POSTGRESQL_OPTIONS.append((index, options))
    return index


def use_postgresql_options() -> None:
    """Attach every index's PostgreSQL options (create_app does, on PostgreSQL)."""
    for index, options in _POSTGRESQL_OPTIONS:
        for name, value in options.items():
            index.dialect_kwargs[f"postgresql_{name}"] = value


class UTCDateTime(TypeDecorator):
    """A datetime stored in UTC that refuses naive values and always loads aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use board.clock.now()")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
