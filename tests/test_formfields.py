"""The form pieces every domain shares (board/formfields.py), and the rules they enforce on
every form of the code base: one-line texts stay on one line, checkbox groups are checked by
the server, never by `required` on each box."""

import importlib
import inspect

import pytest
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired

from board.formfields import CheckboxesField, one_line

DOMAINS = ["accounts", "forum", "lists", "travaux"]


def unbound_fields():
    """(form name, field name, unbound field) for every form of every domain."""
    for domain in DOMAINS:
        module = importlib.import_module(f"board.{domain}.forms")
        for form_name, form in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form, FlaskForm) or form.__module__ != module.__name__:
                continue
            for name, value in inspect.getmembers(form):
                if isinstance(value, UnboundField):
                    yield f"{domain}.{form_name}", name, value


def is_one_line(unbound) -> bool:
    cls = unbound.field_class
    return issubclass(cls, StringField) and not issubclass(
        cls, TextAreaField | PasswordField | EmailField)


ONE_LINE = [(f"{form}.{name}", field) for form, name, field in unbound_fields()
            if is_one_line(field)]
CHECKBOXES = [(f"{form}.{name}", field) for form, name, field in unbound_fields()
              if issubclass(field.field_class, CheckboxesField)]


def test_the_code_base_has_the_fields_these_rules_are_about():
    names = {name for name, _ in ONE_LINE}
    assert {"forum.ThreadForm.title", "accounts.RegisterForm.name", "lists.ComposeForm.subject",
            "travaux.IncidentForm.title", "travaux.ServiceForm.name"} <= names
    assert {"lists.SubscribeForm.lists", "accounts.RegisterForm.lists",
            "travaux.IncidentForm.services"} <= {name for name, _ in CHECKBOXES}


@pytest.mark.parametrize("name, unbound", ONE_LINE, ids=[n for n, _ in ONE_LINE])
def test_every_one_line_field_is_kept_on_one_line(name, unbound):
    assert one_line in unbound.kwargs.get("filters", ()), f"{name} lacks the one_line filter"


@pytest.mark.parametrize("name, unbound", CHECKBOXES, ids=[n for n, _ in CHECKBOXES])
def test_no_box_of_a_checkbox_group_is_required(app, name, unbound):
    class Form(FlaskForm):
        field = unbound

    with app.test_request_context():
        form = Form(meta={"csrf": False})
        form.field.choices = [SelectChoice(1, "Un"), SelectChoice(2, "Deux")]
        assert " required" not in form.field()


def test_a_required_checkbox_group_is_checked_by_the_server(app):
    class Form(FlaskForm):
        field = CheckboxesField(choices=[SelectChoice("a", "A"), SelectChoice("b", "B")],
                                validators=[DataRequired(message="Au moins une.")])

    with app.test_request_context(method="POST", data={"field": "b"}):
        form = Form(meta={"csrf": False})
        assert " required" not in form.field()
        assert form.validate() and form.field.data == ["b"]
    with app.test_request_context(method="POST", data={}):
        form = Form(meta={"csrf": False})
        assert not form.validate() and form.field.errors == ["Au moins une."]


@pytest.mark.parametrize("raw, clean", [
    ("  Panne\r\nBcc: victime@example.org ", "Panne Bcc: victime@example.org"),
    ("Coupure\tdu\t\tserveur", "Coupure du serveur"),
    ("Panne\x00 du\x0b serveur\x7f", "Panne du serveur"),
    ("ligne\u2028suivante\x85fin", "ligne suivante fin"),
    ("admin\u202e.exe\u200b", "admin.exe"),           # bidirectional override, zero-width space
    ("\ufeffTitre", "Titre"),                         # byte-order mark
    ("👩\u200d💻 et मि\u200cत्र", "👩\u200d💻 et मि\u200cत्र"),  # joiners carry meaning
    ("Maintenance\xa0: 22\u202fh", "Maintenance\xa0: 22\u202fh"),  # French no-break spaces
    ("\r\n\t ", ""),
])
def test_one_line_collapses_white_space_and_drops_control_characters(raw, clean):
    assert one_line(raw) == clean


def test_one_line_leaves_what_is_not_text_alone():
    assert one_line(None) is None and one_line(3) == 3
