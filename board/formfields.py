"""Form pieces shared by every domain."""

import re
import unicodedata

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

# Any run of white space but the no-break ones (French typography puts them before : ; ! ?).
_BLANKS = re.compile(r"[^\S\xa0\u202f\u2007]+")
# Zero-width (non-)joiners: format characters that some scripts and emoji sequences need.
_JOINERS = {"\u200c", "\u200d"}


def one_line(value):
    """A one-line text as it may reach a page, a feed or a mail header: runs of white space
    (CR, LF and TAB included) become one space, other control and format characters (NUL,
    bidirectional overrides, zero-width spaces...) are dropped, and the ends are trimmed.
    Anything but a str is returned as is (WTForms filters see None for a missing field)."""
    if not isinstance(value, str):
        return value
    value = _BLANKS.sub(" ", value)
    return "".join(c for c in value if c in _JOINERS
                   or unicodedata.category(c) not in ("Cc", "Cf")).strip()


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
