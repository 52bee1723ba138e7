"""The form of an incident template (board/travaux/incident_templates.py)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from board.formfields import CheckboxesField, one_line
from board.travaux.forms import _impact as impact_field  # the incident form's own choices
from board.travaux.incident_templates import MESSAGE_MAX, NAME_MAX, TITLE_MAX


class TemplateForm(FlaskForm):
    name = StringField(_l("Template name"), filters=[one_line], validators=[
        DataRequired(message=_l("Please give the template a name.")), Length(max=NAME_MAX)],
        description=_l("What the forms' list shows, and what the API's “template” field "
                       "names. Unique."))
    title = StringField(_l("Title"), filters=[one_line],
                        validators=[Optional(), Length(max=TITLE_MAX)],
                        description=_l("Empty: the form keeps its own (the report's title "
                                       "when promoting)."))
    impact = impact_field()
    status = SelectField(_l("Status"), choices=[
        SelectChoice("", _l("None (the form's own)")),
        SelectChoice("investigating", _l("Investigating")),
        SelectChoice("identified", _l("Identified")),
        SelectChoice("monitoring", _l("Monitoring")),
        SelectChoice("resolved", _l("Resolved")),
        SelectChoice("scheduled", _l("Scheduled")),
        SelectChoice("in_progress", _l("In progress")),
        SelectChoice("completed", _l("Completed")),
        SelectChoice("cancelled", _l("Cancelled"))], default="",
        description=_l("A status that does not apply to the operation (say, “resolved” "
                       "when opening one) is left out when the template is used."))
    services = CheckboxesField(_l("Affected services"), coerce=int)
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=MESSAGE_MAX)],
                            description=_l("Markdown, as an update's message."))
