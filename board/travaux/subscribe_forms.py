"""Forms of the Travaux mail subscriptions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, ValidationError

from board.formfields import CheckboxesField, CsrfForm


def _email():
    return EmailField(_l("Email address"), validators=[
        DataRequired(), Length(max=254), Email(message=_l("Please enter a valid email address."))],
        render_kw={"autocomplete": "email"})


class ServicesForm(FlaskForm):
    """All of Travaux, or the services ticked (at least one)."""

    scope = RadioField(_l("What to receive"), default="all", choices=[
        SelectChoice("all", _l("Every Travaux operation")),
        SelectChoice("services", _l("Only the operations on the services I choose"))])
    services = CheckboxesField(_l("Services"), coerce=int)

    def validate_services(self, field):
        if self.scope.data == "services" and not field.data:
            raise ValidationError(_l("Choose at least one service."))


class SubscribeForm(ServicesForm):
    email = _email()


class IncidentSubscribeForm(FlaskForm):
    email = _email()
    incident = HiddenField()


ConfirmForm = CsrfForm
