"""The machine interface: public status in JSON, incidents opened and updated by monitoring.

Token calls authenticate with `Authorization: Bearer`, never with cookies, so they need
no CSRF token; nothing else in this blueprint writes.
"""

from datetime import UTC, datetime

from flask import Blueprint, jsonify, request, url_for
from sqlalchemy import select

from board.accounts.services import user_for_token
from board.extensions import db
from board.formfields import one_line
from board.travaux import services
from board.travaux.incident_templates import find_template
from board.travaux.models import CLOSED, INCIDENT, KINDS, Incident, Service
from board.travaux.services import TravauxError
from board.travaux.status import incident_json, public_thread_urls, status_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class APIError(Exception):
    def __init__(self, status: int, error: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.fields = status, error, message, fields


@bp.errorhandler(APIError)
def _api_error(error: APIError):
    body = {"error": error.error, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    response = jsonify(body)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="travaux"'
    return response


@bp.get("/status")
def status():
    response = jsonify(status_document())
    response.add_etag()
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=30"
    return response.make_conditional(request)


def _admin_from_token():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise APIError(401, "unauthorized", "Send an admin token: Authorization: Bearer <token>.")
    user = user_for_token(raw.strip())
    if user is None:
        raise APIError(401, "unauthorized", "This token is not valid.")
    if not user.is_admin:
        raise APIError(403, "forbidden", "This token's user is not an admin.")
    return user


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise APIError(400, "bad_request", "The body must be a JSON object.")
    return data


def _text(data, name, required=True, max_length=20_000, line=False):
    """A string field; with `line`, kept on one line as the forms keep titles (board.formfields)."""
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, str) and line:
        value = one_line(value)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise APIError(422, "invalid", f"'{name}' must be a non-empty string.",
                       {name: "required string"})
    return value.strip()


def _flag(data, name, default: bool) -> bool:
    """A true/false field: JSON's own booleans only, since "false" is a true string."""
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise APIError(422, "invalid", f"'{name}' must be true or false.",
                       {name: "boolean"})
    return value


def _time(data, name):
    value = data.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        moment = moment.astimezone(UTC) if moment.tzinfo else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise APIError(422, "invalid", f"'{name}' must be an ISO 8601 time with a zone.",
                       {name: "ISO 8601 with zone"})
    return moment


def _services(data) -> list[Service]:
    slugs = data.get("services", [])
    if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
        raise APIError(422, "invalid", "'services' must be a list of service slugs.",
                       {"services": "list of slugs"})
    found = db.session.scalars(select(Service).where(Service.slug.in_(slugs))).all()
    unknown = sorted(set(slugs) - {s.slug for s in found})
    if unknown:
        raise APIError(422, "invalid", f"Unknown services: {', '.join(unknown)}.",
                       {"services": unknown})
    return list(found)


def _with_template(data: dict) -> tuple[dict, list[Service] | None]:
    """The body over its template's fields ("template": "<name>"): what the call gives wins.
    Also the template's services, or None. An unknown name is a 422."""
    name = data.get("template")
    if name is None:
        return data, None
    template = find_template(name) if isinstance(name, str) else None
    if template is None:
        raise APIError(422, "unknown_template",
                       f"There is no incident template named {name!r}.", {"template": name})
    base = {key: value for key, value in (("title", template.title),
                                          ("message", template.message),
                                          ("status", template.status or None),
                                          ("impact", template.impact)) if value}
    return {**base, **{k: v for k, v in data.items() if v is not None}}, template.services


def _refused(error: TravauxError):
    return APIError(422, "invalid", f"Refused: {error}.", {"reason": str(error)})


@bp.post("/incidents")
def open_incident():
    user = _admin_from_token()
    data, template_services = _with_template(_json_body())
    kind = data.get("kind", INCIDENT)
    if kind not in KINDS:
        raise APIError(422, "invalid", "'kind' is incident or maintenance.", {"kind": kind})
    try:
        incident = services.open_incident(
            user, kind=kind, title=_text(data, "title", max_length=150, line=True),
            impact=data.get("impact", "minor"),
            services=_services(data) if "services" in data or template_services is None
            else list(template_services),
            message=_text(data, "message"), status=data.get("status"),
            window=(_time(data, "window_start"), _time(data, "window_end")),
            notify=_flag(data, "notify", True), via="api")
    except TravauxError as error:
        raise _refused(error) from error
    return _created(incident)


@bp.post("/incidents/<int:incident_id>/updates")
def post_update(incident_id: int):
    user = _admin_from_token()
    incident = _incident(incident_id)
    data = _with_template(_json_body())[0]
    status = data.get("status") or services.current_status(incident)
    try:
        services.post_update(incident, user, status, _text(data, "message"),
                             reopen=_flag(data, "reopen", False),
                             notify=_flag(data, "notify", status in CLOSED), via="api")
    except TravauxError as error:
        raise _refused(error) from error
    return _created(incident)


@bp.patch("/incidents/<int:incident_id>")
def reschedule(incident_id: int):
    """Move a maintenance's window: {"window_start", "window_end", "message"?, "notify"?}."""
    user = _admin_from_token()
    incident = _incident(incident_id)
    data = _json_body()
    start, end = _time(data, "window_start"), _time(data, "window_end")
    if start is None or end is None:
        raise APIError(422, "invalid", "Give both 'window_start' and 'window_end'.",
                       {"window_start": "required", "window_end": "required"})
    message = _text(data, "message") if data.get("message") else ""
    try:
        services.reschedule(incident, user, start, end, message,
                            notify=_flag(data, "notify", True), via="api")
    except TravauxError as error:
        raise _refused(error) from error
    return _document(incident, 200)


def _incident(incident_id: int) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise APIError(404, "not_found", f"No incident {incident_id}.")
    return incident


def _created(incident: Incident):
    return _document(incident, 201)


def _document(incident: Incident, status: int):
    urls = public_thread_urls([incident.id])
    response = jsonify(incident_json(incident, urls[incident.id]))
    response.status_code = status
    response.headers["Location"] = url_for("travaux.incident", incident_id=incident.id)
    return response
