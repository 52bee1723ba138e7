"""Account forms. Field names follow DESIGN.md: email, password, name."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from board.formfields import CheckboxesField, CsrfForm, one_line

PASSWORD_MIN = 10
NAME_PATTERN = r"^[\w][\w .\-']*[\w.]$"

# Why a display name is refused (accounts.services.name_problem).
NAME_ERRORS = {
    "name-taken": _l("This display name is already taken."),
    "mixed-script": _l("A display name keeps to one alphabet: do not mix, for example, Latin "
                       "and Cyrillic letters."),
}

_email = [DataRequired(), Length(max=254), Email(message=_l("Please enter a valid email address."))]


def _new_password(label=_l("Password"), id=None):
    return PasswordField(
        label, id=id,
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=200, message=_l(
            "Use at least %(min)d characters.", min=PASSWORD_MIN))],
        render_kw={"autocomplete": "new-password"},
        description=_l("At least %(min)d characters. A sentence is easy to remember.",
                       min=PASSWORD_MIN),
    )


def _display_name():
    return StringField(
        _l("Display name"),
        validators=[DataRequired(), Length(min=2, max=40), Regexp(NAME_PATTERN, message=_l(
            "Letters, digits, spaces, dots, dashes and apostrophes only."))],
        filters=[one_line],
        description=_l("Shown next to your posts. 2 to 40 characters."),
    )


class RegisterForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=_email,
                       render_kw={"autocomplete": "email"})
    name = _display_name()
    password = _new_password()
    lists = CheckboxesField(
        _l("Also receive our mailing lists"),
        description=_l("Optional. Each list sends its own confirmation link; you can leave "
                       "at any time."))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=_email,
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Remember me on this device"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=_email,
                       render_kw={"autocomplete": "email"})


class ResetForm(FlaskForm):
    password = _new_password(_l("New password"))
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"})


class ProfileForm(FlaskForm):
    name = _display_name()
    locale = SelectField(_l("Language"), choices=[
        SelectChoice("", _l("Automatic (from the browser)")),
        SelectChoice("fr", "Français"),
        SelectChoice("en", "English"),
    ])


# The account page holds several of these forms: each field gets an id of its own, so that
# every label points to its own input.
class EmailForm(FlaskForm):
    email = EmailField(_l("New email address"), validators=_email,
                       render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Current password"), validators=[DataRequired()],
                             id="email-password", render_kw={"autocomplete": "current-password"})


class DeleteForm(FlaskForm):
    password = PasswordField(_l("Current password"), validators=[DataRequired()],
                             id="delete-password",
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    password = _new_password(_l("New password"), id="new-password")
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"})


ConfirmForm = CsrfForm


class UserAdminForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[
        SelectChoice("member", _l("Member")),
        SelectChoice("moderator", _l("Moderator")),
        SelectChoice("admin", _l("Administrator")),
    ])
    disabled = BooleanField(_l("Account disabled"))


class ListsForm(FlaskForm):
    lists = CheckboxesField(_l("Mailing lists"))
