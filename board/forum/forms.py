"""Forum forms. Field names follow DESIGN.md: title and body."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Regexp

from board.formfields import CsrfForm, one_line

BODY_MAX = 50_000
TITLE_MAX = 150


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _strip(value):
    """Trim a text and drop control characters but its line breaks and tabs (descriptions)."""
    return _CONTROL.sub("", value).strip() if isinstance(value, str) else value


def _body():
    return TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(message=_l("Please write a message.")),
            Length(max=BODY_MAX, message=_l(
                "Your message is too long: %(max)d characters at most.", max=BODY_MAX)),
        ],
        description=_l("Markdown: **bold**, *italic*, `code`, lists, tables and links."),
    )


def _title():
    return StringField(
        _l("Title"),
        validators=[
            DataRequired(message=_l("Please give your thread a title.")),
            Length(min=3, max=TITLE_MAX, message=_l(
                "The title needs %(min)d to %(max)d characters.", min=3, max=TITLE_MAX)),
        ],
        filters=[one_line],
    )


def optional_id(value) -> int | None:
    """A select's value: an id, or None for "none"."""
    return int(value) if value not in (None, "", "None") else None


def _service(label):
    # Its choices are Travaux's services, given by the view (board/forum/views.py).
    return SelectField(label, coerce=optional_id, choices=[], default=None)


class ThreadForm(FlaskForm):
    title = _title()
    service = _service(_l("Service concerned"))
    body = _body()
    official = BooleanField(_l("Official staff answer"))


class ServiceForm(FlaskForm):
    service = _service(_l("Service concerned"))


class ReplyForm(FlaskForm):
    body = _body()
    official = BooleanField(_l("Official staff answer"))


class EditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=TITLE_MAX)], filters=[one_line])
    body = _body()


class MoveForm(FlaskForm):
    board = SelectField(_l("Move to board"), coerce=int)


class MergeForm(FlaskForm):
    target = StringField(_l("Duplicate of (the other thread's address or number)"), validators=[
        DataRequired(), Length(max=300)], filters=[one_line])


ActionForm = CsrfForm


class BoardForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)],
                       filters=[one_line])
    slug = StringField(
        _l("Address"),
        validators=[DataRequired(), Length(max=60), Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", message=_l(
            "Lower-case letters, digits and dashes only, e.g. hebergement-web."))],
        filters=[one_line],
        description=_l("Appears in the board's address: /boards/<address>."),
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=500)],
                                filters=[_strip])
    position = IntegerField(_l("Position"), validators=[NumberRange(min=0, max=1000)],
                            default=0, description=_l("Boards are listed by increasing position."))
    default_service = _service(_l("Service of its reports, unless their authors choose another"))
    visibility = SelectField(_l("Who can see it"), choices=[
        SelectChoice("public", _l("Everyone")), SelectChoice("staff", _l("Staff only"))])
    solvable = BooleanField(_l("Help board: a thread's author or staff can mark the reply "
                               "that solved it"))
