"""Forms of the plan: one checklist item's finding in a checkup."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from participation.forms import photo_field, sensible_date

from .models import STATES

STATE_LABELS = {"present": _l("Present: meets the standard"),
                "insufficient": _l("Insufficient: there, but falls short"),
                "missing": _l("Missing")}


class FindingForm(FlaskForm):
    state = RadioField(_l("What did the checkup find?"),
                       choices=[SelectChoice(s, STATE_LABELS[s]) for s in STATES],
                       validators=[InputRequired(message=_l(
                           "Choose whether the item is present, insufficient or missing."))])
    value = DecimalField(_l("Measured value"), places=2, validators=[
        Optional(), NumberRange(min=0, max=9_999_999_999,
                                message=_l("Enter a number from 0 to 9,999,999,999."))])
    checked_on = DateField(_l("Checked on"), validators=[
        InputRequired(message=_l("Enter the date of the check.")), sensible_date])
    note = TextAreaField(_l("Evidence and notes"), validators=[Length(max=5000)],
                         description=_l("What was seen or measured, where, and by whom."))
    photo = photo_field(FileField, _l("Photo of the evidence (optional)"))
    remove_photo = BooleanField(_l("Remove the photo"))
