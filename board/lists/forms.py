"""Mailing list forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from board.formfields import CheckboxesField, CsrfForm, one_line
from board.lists.services import BODY_MAX


class SubscribeForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(), Length(max=254), Email(message=_l("Please enter a valid email address."))],
        render_kw={"autocomplete": "email"})
    lists = CheckboxesField(_l("Lists"), validators=[
        DataRequired(message=_l("Choose at least one list."))])


class ComposeForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(min=3, max=180)],
                          filters=[one_line])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=BODY_MAX)],
                         description=_l("Markdown. Sent as text and HTML, after approval."))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent to the author)"), validators=[
        DataRequired(message=_l("Please give a reason.")), Length(max=2000)])


class SettingsForm(FlaskForm):
    description = TextAreaField(_l("Description"), validators=[Length(max=1000)])
    senders = TextAreaField(
        _l("Allowed senders"), validators=[Length(max=10_000)],
        description=_l("One address per line. Their mail to the list is held for approval; "
                       "mail from anyone else is refused."))


ConfirmForm = CsrfForm
