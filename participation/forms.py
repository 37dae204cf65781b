"""Form pieces every module uses. Labels and messages are lazy strings, translated when rendered."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import DataRequired, ValidationError


def sensible_date(form, field) -> None:
    """Dates a community plans with; far ones are typing slips (and overflow time arithmetic)."""
    value = field.data
    if value is not None and not (2000 <= value.year <= 2100):
        raise ValidationError(_l("Enter a date between the years 2000 and 2100."))


def required(message=None):
    return DataRequired(message=message or _l("This field is required."))


class EmptyForm(FlaskForm):
    """A POST button: carries only the CSRF token."""


IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]

