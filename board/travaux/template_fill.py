"""Forms that start from an incident template: "Start from a template" on the incident, the
promotion and the update forms. Without JavaScript the list is a GET form (?template=<name>)
and the page comes back filled; static/incident_templates.js fills the fields in place from
the same data (`picker_data`)."""

from flask import flash, request
from flask_babel import gettext as _

from board.travaux.incident_templates import all_templates, as_fields, find_template


def picker_data() -> list[dict]:
    """Every template, by name, with what it fills (the include's list and its script)."""
    return [{"name": template.name, "fields": as_fields(template)}
            for template in all_templates()]


def prefill(form) -> str | None:
    """Fill `form` from the template the address names (?template=<name>), leaving what the
    template does not hold; a status the form does not offer is left out. Returns the name,
    or None (with a message when the name is unknown)."""
    name = request.args.get("template", "")
    if not name.strip():
        return None
    template = find_template(name)
    if template is None:
        flash(_("There is no template called “%(name)s”.", name=name[:80]), "error")
        return None
    fields = as_fields(template)
    for key in ("title", "message", "impact"):
        if key in fields and key in form:
            form[key].data = fields[key]
    if "services" in form:
        offered = _offered(form.services)
        form.services.data = [i for i in fields["services"] if i in offered]
    status = fields.get("status")
    if status and "status" in form:
        if status in _offered(form.status):
            form.status.data = status
        else:
            flash(_("The template's status does not apply here: it is left out."), "info")
    return template.name


def _offered(field) -> set:
    """The values a select or a list of checkboxes offers."""
    return {choice[0] for choice in field.iter_choices()}
