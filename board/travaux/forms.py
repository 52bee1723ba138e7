"""Travaux forms. Times are typed in Paris time and stored in UTC."""

from datetime import UTC
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from board.formfields import CheckboxesField, one_line

PARIS = ZoneInfo("Europe/Paris")
MESSAGE_MAX = 20_000


def to_utc(local):
    """A naive datetime typed in Paris time, as an aware UTC datetime."""
    return local.replace(tzinfo=PARIS).astimezone(UTC) if local else None


def to_paris(moment):
    """An aware UTC datetime as the naive Paris time a form shows."""
    return moment.astimezone(PARIS).replace(tzinfo=None) if moment else None


def _message():
    return TextAreaField(
        _l("Message"),
        validators=[DataRequired(message=_l("Please write a message.")),
                    Length(max=MESSAGE_MAX)],
        description=_l("Markdown. Relayed as an official post into every linked thread."))


def _impact():
    return SelectField(_l("Impact"), choices=[
        SelectChoice("none", _l("No impact")), SelectChoice("minor", _l("Minor")),
        SelectChoice("major", _l("Major")), SelectChoice("critical", _l("Critical"))],
        default="minor")


class IncidentForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice("incident", _l("Incident (unplanned)")),
        SelectChoice("maintenance", _l("Planned maintenance"))])
    title = StringField(_l("Title"), validators=[
        DataRequired(message=_l("Please give a title.")), Length(min=3, max=150)],
        filters=[one_line])
    impact = _impact()
    services = CheckboxesField(_l("Affected services"), coerce=int)
    status = SelectField(_l("Status"), choices=[
        SelectChoice("", _l("Automatic")),
        SelectChoice("investigating", _l("Investigating")),
        SelectChoice("identified", _l("Identified")),
        SelectChoice("monitoring", _l("Monitoring")),
        SelectChoice("scheduled", _l("Scheduled")),
        SelectChoice("in_progress", _l("In progress"))], default="",
        description=_l("Incidents start as “investigating”, maintenance follows its window."))
    window_start = DateTimeLocalField(_l("Start (Paris time)"), validators=[Optional()],
                                      format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    window_end = DateTimeLocalField(_l("End (Paris time)"), validators=[Optional()],
                                    format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    message = _message()
    notify = BooleanField(_l("Notify the subscribers by mail"), default=True)


class UpdateForm(FlaskForm):
    status = SelectField(_l("New status"))
    message = _message()
    reopen = BooleanField(_l("Reopen (the incident is closed)"))
    # Ticked by board.js when the status closes the operation; unticked otherwise.
    notify = BooleanField(_l("Notify the subscribers by mail"),
                          description=_l("Recommended for a resolution."))


class RescheduleForm(FlaskForm):
    window_start = DateTimeLocalField(
        _l("New start (Paris time)"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[DataRequired(message=_l("Give the new start."))])
    window_end = DateTimeLocalField(
        _l("New end (Paris time)"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[DataRequired(message=_l("Give the new end."))])
    message = TextAreaField(_l("Why (optional)"), validators=[Length(max=MESSAGE_MAX)],
                            description=_l("Markdown. The update already says the old and "
                                           "the new window."))
    notify = BooleanField(_l("Notify the subscribers by mail"), default=True)


class LinkForm(FlaskForm):
    thread = StringField(_l("Thread to link (its address or number)"), validators=[
        DataRequired(), Length(max=300)], filters=[one_line])


class ServiceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)],
                       filters=[one_line])
    slug = StringField(_l("Address"), filters=[one_line], validators=[
        DataRequired(), Length(max=60),
        Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$",
               message=_l("Lower-case letters, digits and dashes only, e.g. hebergement-web."))])
    description = TextAreaField(_l("Description"), validators=[Length(max=500)])
    position = IntegerField(_l("Position"), validators=[NumberRange(min=0, max=1000)],
                            default=0)
    legacy_id = IntegerField(
        _l("Project number on the old Travaux"),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1)],
        description=_l("Old feed addresses (feed.php?project=<number>) lead to this "
                       "service's feed."))


class MyServicesForm(FlaskForm):
    """The services a member uses (board/travaux/mine.py); none is a valid answer."""

    services = CheckboxesField(_l("The services I use"), coerce=int, description=_l(
        "Travaux shows them first, and can show them alone."))
    next = StringField(filters=[one_line])  # where to go once saved (a path of ours)
