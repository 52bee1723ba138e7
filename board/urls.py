"""Small URL helpers shared by every domain."""

from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import current_app


def safe_next(target: str | None) -> str | None:
    """Return `target` only when it is a path on this site; anything else gives None."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def absolute(path: str) -> str:
    """An absolute URL under BASE_URL, for mail and feeds."""
    return current_app.config["BASE_URL"] + path


@contextmanager
def site_context():
    """A request context on BASE_URL, for url_for() in commands and the worker."""
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        yield
