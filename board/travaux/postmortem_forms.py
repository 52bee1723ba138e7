"""Forms of the postmortem editor and of its action items."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from board.formfields import one_line
from board.travaux.postmortems import ACTION_LABELS, ACTION_MAX, BODY_MAX


class PostmortemForm(FlaskForm):
    body = TextAreaField(
        _l("Postmortem"), validators=[Length(max=BODY_MAX)],
        description=_l("Markdown: what happened, why, what we did, what changes now. The "
                       "draft is kept as you type; publishing posts it into every linked "
                       "thread and mails the members concerned."))


def _statuses():
    return SelectField(_l("Status"), choices=[SelectChoice(value, label)
                                              for value, label in ACTION_LABELS.items()])


class ActionForm(FlaskForm):
    text = StringField(_l("Action"), filters=[one_line], validators=[
        DataRequired(message=_l("Say what will be done.")), Length(max=ACTION_MAX)])
    status = _statuses()


class ActionStatusForm(FlaskForm):
    status = _statuses()
