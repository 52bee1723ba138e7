"""Settings, read from the environment with working defaults (DESIGN.md, Settings)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _secret_key(instance_path: str) -> str:
    """Return SECRET_KEY, or the one generated on first start and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Exclusive creation: two processes starting together keep the same key.
        try:
            with open(path, "x", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text(encoding="ascii").strip()


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "board.sqlite3")
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants psycopg 3 spelt out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load(instance_path: str) -> dict:
    """Build the configuration mapping for create_app()."""
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    redis_url = os.environ.get("REDIS_URL", "")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        # A pooled connection is pinged when a request takes it after this many seconds idle
        # (board/__init__.py, _liveness), not at every request: on PostgreSQL the ping is a
        # round trip, 0.1 to 0.3 ms here.
        "POOL_PING_IDLE": float(os.environ.get("POOL_PING_IDLE", "1")),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": "https" if base_url.startswith("https") else "http",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": base_url.startswith("https"),
        # A login (remembered or not) ends after this, whatever its cookies say.
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "MAX_CONTENT_LENGTH": 512 * 1024,
        "REDIS_URL": redis_url,
        # How many reverse proxies (nginx...) stand in front: their X-Forwarded-For is trusted
        # that deep, so rate limits see each visitor's own address.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Logins: every attempt from one client address; the wrong passwords from one address
        # for one account; the wrong passwords for one account from anywhere, past which a
        # wrong password gets a 429 (a right one is always let in: strangers lock nobody out).
        "LOGIN_LIMIT_PER_ADDRESS": "10 per minute; 60 per hour",
        "LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT": "20 per hour",
        "LOGIN_FAILURES_PER_ACCOUNT": "50 per hour",
        "SMTP_URL": os.environ.get("SMTP_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Communauté <communaute@localhost>"),
        # Lists' addresses are <slug>@LISTS_DOMAIN (default: MAIL_FROM's domain).
        "LISTS_DOMAIN": os.environ.get("LISTS_DOMAIN", ""),
        "LIST_CONFIRM_DAYS": 3,
        # A watched thread's new replies are gathered this long into one mail.
        "WATCH_DIGEST_SECONDS": int(os.environ.get("WATCH_DIGEST_SECONDS", "600")),
        # Notifications mailed in one batch per member (board/forum/notifications.py).
        "NOTIFICATION_MAIL_SECONDS": int(os.environ.get("NOTIFICATION_MAIL_SECONDS", "600")),
        "OUTBOX_RETRY_SECONDS": int(os.environ.get("OUTBOX_RETRY_SECONDS", "30")),
        # Every delivery is appended here, outside the database, so that a restored backup
        # does not send again what went out after it (`flask reconcile-outbox`); "" turns it off.
        "OUTBOX_JOURNAL": os.environ.get("OUTBOX_JOURNAL",
                                         str(Path(instance_path) / "outbox-journal.jsonl")),
        # A row still undelivered this long after it was queued is marked failed (5 days, as
        # Postfix's maximal_queue_lifetime); an unreachable SMTP server charges no attempt.
        "OUTBOX_MAX_AGE_HOURS": float(os.environ.get("OUTBOX_MAX_AGE_HOURS", "120")),
        # The independent status site: where it is written, how it is published, its address.
        "TRAVAUX_EXPORT_DIR": os.environ.get("TRAVAUX_EXPORT_DIR", ""),
        "TRAVAUX_PUBLISH_COMMAND": os.environ.get("TRAVAUX_PUBLISH_COMMAND", ""),
        "TRAVAUX_PUBLIC_URL": os.environ.get("TRAVAUX_PUBLIC_URL",
                                             "http://127.0.0.1:8000").rstrip("/"),
        # Feed item ids are tag: URIs on BASE_URL's host and this date; never change it once
        # feeds are published, or every reader sees every item as new.
        "FEED_TAG_DATE": os.environ.get("FEED_TAG_DATE", "2026"),
        "FEED_AUTHOR": os.environ.get("FEED_AUTHOR", "Communauté"),
        # Board where incidents opened on Travaux get their discussion thread.
        "TRAVAUX_BOARD": os.environ.get("TRAVAUX_BOARD", "travaux"),
        # How often the worker counts yesterday's and today's uptime again (an open incident).
        "UPTIME_REFRESH_SECONDS": float(os.environ.get("UPTIME_REFRESH_SECONDS", "300")),
        # Reminders mailed before a maintenance, in minutes ahead of its start (a day and an
        # hour); none for a maintenance announced less than that ahead.
        "TRAVAUX_REMINDERS": os.environ.get("TRAVAUX_REMINDERS", "1440,60"),
        # Who may show /travaux/embed in a frame (the customer panel's origin).
        "TRAVAUX_EMBED_ANCESTORS": os.environ.get("TRAVAUX_EMBED_ANCESTORS", "'self'"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("BOARD_DEFAULT_LOCALE", "fr"),
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
        "PASSWORD_HASH_METHOD": "scrypt",
        "CONFIRM_MAX_AGE": 3 * 24 * 3600,
        "RESET_MAX_AGE": 2 * 3600,
        # Guests' pages (board/pagecache.py): "auto" keeps them in Redis when REDIS_URL is set,
        # else in each process's memory; "memory", "redis" or "off" to choose.
        "GUEST_CACHE": os.environ.get("GUEST_CACHE", "auto"),
        # How long an entry lives (relative dates stay this close to the truth), and how long
        # a browser, a proxy or a CDN may keep a guest page without asking: short, for outages.
        "GUEST_CACHE_SECONDS": int(os.environ.get("GUEST_CACHE_SECONDS", "60")),
        "GUEST_CACHE_MAX_AGE": int(os.environ.get("GUEST_CACHE_MAX_AGE", "30")),
        "GUEST_CACHE_ENTRIES": int(os.environ.get("GUEST_CACHE_ENTRIES", "2000")),
        "GUEST_CACHE_PREFIX": os.environ.get("GUEST_CACHE_PREFIX", "board:page:"),
        # On PostgreSQL, guests' stamps kept between two changes, which the database announces
        # (board/stampmemo.py): "auto" (on), or "off" (every guest page reads its stamp).
        "STAMP_MEMO": os.environ.get("STAMP_MEMO", "auto"),
        # Suspected incidents (board/travaux/spikes.py): reports and "me too" on one service
        # within the window, at least this many and this many times its usual number then;
        # one closes by itself after this long without any.
        "SPIKE_WINDOW_MINUTES": int(os.environ.get("SPIKE_WINDOW_MINUTES", "15")),
        "SPIKE_MIN_SIGNALS": int(os.environ.get("SPIKE_MIN_SIGNALS", "5")),
        "SPIKE_FACTOR": float(os.environ.get("SPIKE_FACTOR", "3")),
        "SPIKE_QUIET_MINUTES": int(os.environ.get("SPIKE_QUIET_MINUTES", "120")),
        # "Is it fixed for you?" (board/travaux/fixed.py): this many "no" in the last this
        # many hours (since the resolution), and staff are asked whether to reopen.
        "FIXED_NO_THRESHOLD": int(os.environ.get("FIXED_NO_THRESHOLD", "3")),
        "FIXED_NO_WINDOW_HOURS": float(os.environ.get("FIXED_NO_WINDOW_HOURS", "6")),
        # Webhooks and the social relay may call loopback or private addresses (tests,
        # internal receivers); off, such an address is refused when saved and when called.
        "WEBHOOK_ALLOW_PRIVATE": os.environ.get("WEBHOOK_ALLOW_PRIVATE", "") in ("1", "true",
                                                                                "yes", "on"),
        # The social relay's account; both set, they take precedence over /admin/relay.
        "MASTODON_URL": os.environ.get("MASTODON_URL", ""),
        "MASTODON_TOKEN": os.environ.get("MASTODON_TOKEN", ""),
        # Earlier versions of an edited post: its author and staff always read them; set,
        # everyone who may read the post does too.
        "REVISIONS_PUBLIC": os.environ.get("REVISIONS_PUBLIC", "") in ("1", "true", "yes", "on"),
        # Flags from this many distinct members hide a post until staff decide (0: never).
        "FLAG_HIDE_THRESHOLD": int(os.environ.get("FLAG_HIDE_THRESHOLD", "3")),
        "THREADS_PER_PAGE": 30,
        "POSTS_PER_PAGE": 20,
    }
