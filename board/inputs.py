"""Bounds on what a request may carry, checked once for every view before it runs.

A NUL byte anywhere (path, query string, form, body) is a 400: PostgreSQL text cannot hold
one, and no legitimate client sends one. Page numbers beyond any real page are a 404 before
they reach an OFFSET that neither database can represent. JSON nested past Python's recursion
limit, or holding a NUL (written `\u0000`), is malformed JSON (a 400), not a 500.
"""

from flask import abort, request
from flask.json.provider import DefaultJSONProvider

MAX_PAGE = 10**6
MAX_PER_PAGE = 100
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where nesting too deep to parse and NUL characters are a ValueError like
    any broken JSON: `request.get_json()` then answers 400, `get_json(silent=True)` None."""

    def loads(self, s, **kwargs):
        try:
            data = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if _holds_nul(data):
            raise ValueError("NUL character in JSON")
        return data


def _holds_nul(data) -> bool:
    """Whether any key or string in parsed JSON holds a NUL (a loop: depth costs no stack)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _has_nul(pairs) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def refuse_nul() -> None:
    """abort(400) when the path, the query string, the form or the body holds a NUL byte."""
    if "\x00" in request.path or _has_nul(request.args.items(multi=True)):
        abort(400)
    if request.mimetype in FORM_TYPES:
        fields = request.form.items(multi=True)
        names = ((name, upload.filename or "") for name, upload in request.files.items(multi=True))
        if _has_nul(fields) or _has_nul(names):
            abort(400)
    elif b"\x00" in request.get_data(cache=True):
        abort(400)


def bound_pages() -> None:
    """abort(404) for a `page` or `per_page` beyond any page a view shows (flask-sqlalchemy's
    db.paginate reads both from the query string; it 404s on the ones below 1 itself)."""
    for name, bound in (("page", MAX_PAGE), ("per_page", MAX_PER_PAGE)):
        try:
            number = int(request.args.get(name, 1))
        except ValueError:
            continue  # not a number: db.paginate answers 404 itself
        if number > bound:
            abort(404)


def init_app(app) -> None:
    app.json = BoundedJSONProvider(app)
    app.before_request(refuse_nul)
    app.before_request(bound_pages)
