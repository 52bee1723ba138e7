"""Forms of profiles and flags: the bio, a flag, a warning to an author."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from board.forum.flags import NOTE_MAX, REASONS, WARNING_MAX
from board.forum.profiles import BIO_MAX


class BioForm(FlaskForm):
    bio = TextAreaField(
        _l("About me"),
        validators=[Length(max=BIO_MAX, message=_l(
            "Your bio is too long: %(max)d characters at most.", max=BIO_MAX))],
        description=_l("Shown on your profile. Markdown: **bold**, *italic*, links."),
        render_kw={"rows": 4, "maxlength": BIO_MAX})


class FlagForm(FlaskForm):
    reason = RadioField(_l("Why?"),
                        choices=[SelectChoice(code, label) for code, label in REASONS.items()],
                        validators=[DataRequired(message=_l("Please choose a reason."))])
    note = TextAreaField(
        _l("Details"),
        validators=[Length(max=NOTE_MAX, message=_l(
            "Please keep it under %(max)d characters.", max=NOTE_MAX))],
        description=_l("Required for “Something else”; only staff read it."),
        render_kw={"rows": 3, "maxlength": NOTE_MAX})


class WarnForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the author"),
        validators=[DataRequired(message=_l("Please write a message.")),
                    Length(max=WARNING_MAX, message=_l(
                        "Please keep it under %(max)d characters.", max=WARNING_MAX))],
        render_kw={"rows": 3, "maxlength": WARNING_MAX})
