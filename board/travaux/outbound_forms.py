"""Forms of the staff pages for webhooks and the social relay."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from board.formfields import CheckboxesField, one_line

# What the event types' checkboxes say (the README lists the types by their code).
EVENT_LABELS = {
    "incident.opened": _l("Incident opened"),
    "incident.updated": _l("Incident updated"),
    "incident.resolved": _l("Incident resolved"),
    "incident.postmortem": _l("Postmortem published"),
    "maintenance.announced": _l("Maintenance announced"),
    "maintenance.updated": _l("Maintenance updated"),
    "maintenance.rescheduled": _l("Maintenance rescheduled"),
    "maintenance.cancelled": _l("Maintenance cancelled"),
    "maintenance.reminder": _l("Reminder before a maintenance"),
    "maintenance.started": _l("Maintenance started"),
    "maintenance.completed": _l("Maintenance completed"),
    "thread.promoted": _l("Report promoted to an incident"),
    "report.spike": _l("Suspected incident (staff-only endpoints)"),
}


def _one_of_them(form, field):
    if not field.data:
        raise ValidationError(_l("Choose at least one event."))


class EndpointForm(FlaskForm):
    url = StringField(_l("Address (URL)"), filters=[one_line], validators=[
        DataRequired(message=_l("Please give the address that receives the events.")),
        Length(max=500)],
        description=_l("https only (plain http for 127.0.0.1 or localhost, to test)."))
    description = StringField(_l("Description"), filters=[one_line],
                              validators=[Optional(), Length(max=200)])
    secret = StringField(_l("Secret"), filters=[one_line], validators=[
        Optional(), Length(max=200)],
        description=_l("“whsec_” then base64 (24 to 64 bytes). Leave empty to have one "
                       "generated; it is shown once."))
    event_types = CheckboxesField(_l("Events"), validators=[_one_of_them])
    services = CheckboxesField(_l("Services"), coerce=int,
                               description=_l("None ticked: every service."))
    staff_only = BooleanField(_l("Staff-only endpoint (may receive suspected incidents and "
                                 "staff-only reports)"))
    enabled = BooleanField(_l("Enabled"), default=True)


class RelayForm(FlaskForm):
    instance_url = StringField(_l("Instance address"), filters=[one_line], validators=[
        Optional(), Length(max=300)], description=_l("For example https://mastodon.example"))
    access_token = PasswordField(_l("Access token"), validators=[Optional(), Length(max=300)],
                                 description=_l("Leave empty to keep the current one. The "
                                                "application needs the write:statuses "
                                                "scope."))
    enabled = BooleanField(_l("Relay incidents and maintenance"), default=True)
