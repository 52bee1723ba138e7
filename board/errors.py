"""Error pages in the site's look and language; no traceback ever reaches a visitor."""

import logging

from flask import g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DatabaseError,
    DataError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)
from werkzeug.exceptions import HTTPException, InternalServerError

from board.extensions import db, login_manager

log = logging.getLogger("board.errors")

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    403: (_l("Forbidden"), _l("You are not allowed to do this.")),
    404: (_l("Page not found"), _l("This page does not exist, or is no longer available.")),
    405: (_l("Method not allowed"), _l("This address does not accept this kind of request.")),
    413: (_l("Too large"), _l("What you sent is too large. Please shorten it and try again.")),
    429: (_l("Too many requests"), _l("Too many attempts in a short time. Please wait a "
                                        "little before trying again.")),
    500: (_l("Server error"), _l("Something went wrong on our side. The team has been told; "
                                 "please try again in a moment.")),
    503: (_l("Service unavailable"), _l("The site is temporarily unavailable. Please try "
                                        "again in a few minutes.")),
}

# Machine-readable names for JSON errors, the same words the API uses for its own.
CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         413: "too_large", 429: "too_many_requests", 500: "server_error", 503: "unavailable"}


# Database errors that are our bug (a constraint, a bad statement), not an outage: a 500.
# Everything else (OperationalError, InternalError, and the bare DatabaseError of a corrupt or
# unreadable SQLite file) means the database cannot serve us: the 503 page.
BUGS = (IntegrityError, DataError, ProgrammingError, NotSupportedError)


def _forget_the_database() -> None:
    """Draw the rest of this response without the database: the visitor counts as a guest
    (Flask-Login would load a member from it, and a loaded member's attributes are expired
    by the rollback) and the pages leave out everything that queries."""
    g.database_down = True
    g._login_user = login_manager.anonymous_user()
    try:
        db.session.rollback()
    except DatabaseError:
        pass


def render_error(code: int, detail: str | None = None, public_url: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500])
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(error=CODES.get(code, "server_error"), message=str(detail or message)), code
    try:
        body = render_template("errors/error.html", code=code, title=title,
                               message=detail or message, public_url=public_url)
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        log.exception("error page failed to render")
        body = f"<!doctype html><title>{code}</title><h1>{code}</h1>"
    return body, code


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, _l("Your form has expired or was not sent from this site. "
                                    "Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = render_error(error.code)
        if error.code == 405 and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(DatabaseError)
    def _database_down(error):
        if isinstance(error, BUGS):
            log.error("database refused a statement", exc_info=error)
            db.session.rollback()  # the page below still reads the logged-in member
            return render_error(500)
        log.error("database unavailable: %s", error.orig if error.orig else error)
        _forget_the_database()
        public = app.config["TRAVAUX_PUBLIC_URL"]
        return render_error(503, _l("Our database cannot be reached right now. The site comes "
                                    "back by itself as soon as it is; please try again in a "
                                    "few minutes."), public_url=public)

    @app.errorhandler(InternalServerError)
    def _server_error(error):
        return render_error(500)
