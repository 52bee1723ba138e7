"""Form pieces shared by every domain."""

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


class _OptionCheckbox(CheckboxInput):
    """One box of a group. HTML cannot say "at least one of these": `required` on each box
    would demand every one, so the server checks the group and says so in the page."""

    validation_attrs = ["disabled"]


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = _OptionCheckbox()


class CsrfForm(FlaskForm):
    """Only a CSRF token, behind buttons that change state."""
