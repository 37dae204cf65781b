"""Form pieces every module uses. Labels and messages are lazy strings, translated when rendered."""
from __future__ import annotations

import os

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed
from wtforms import DecimalField as _DecimalField
from wtforms.validators import DataRequired, InputRequired, ValidationError

from .uploads import PHOTO_MAX_BYTES, is_uploaded


class DecimalField(_DecimalField):
    """WTForms' DecimalField, refusing what is not a finite number: "NaN" and "Infinity"
    parse as decimals, and "sNaN" makes NumberRange raise."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


def sensible_date(form, field) -> None:
    """Dates a community plans with; far ones are typing slips (and overflow time arithmetic)."""
    value = field.data
    if value is not None and not (2000 <= value.year <= 2100):
        raise ValidationError(_l("Enter a date between the years 2000 and 2100."))


# One wording for every field left empty, whichever validator notices it.
REQUIRED = _l("This field is required.")


def required(message=None):
    return DataRequired(message=message or REQUIRED)


def required_number(message=None):
    """For numbers and choices, where 0 is an answer and only an empty field is missing."""
    return InputRequired(message=message or REQUIRED)


class EmptyForm(FlaskForm):
    """A POST button: carries only the CSRF token."""


IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]
PHOTO_MAX_MB = PHOTO_MAX_BYTES // (1024 * 1024)


def _photo_size(form, field) -> None:
    """Each picture within PHOTO_MAX_BYTES, measured on what arrived, not on what the browser
    claimed; the rest of the form comes back as typed."""
    files = field.data if isinstance(field.data, list) else [field.data]
    for file in files:
        if not is_uploaded(file):
            continue
        size = file.stream.seek(0, os.SEEK_END)
        file.stream.seek(0)
        if size > PHOTO_MAX_BYTES:
            raise ValidationError(_(
                "“%(name)s” is %(size).1f MB; each photo may be at most %(mb)d MB. Choose a "
                "smaller photo, then send the form again.",
                name=file.filename, size=size / (1024 * 1024), mb=PHOTO_MAX_MB))


def photo_field(field_class, label, count: int | None = None):
    """A photo upload that states its limits beside it and lets the browser check the size
    before sending (participation/static/js/linli.js reads the data attributes)."""
    hint = (_l("JPEG or PNG, up to %(count)d photos, at most %(mb)d MB each.", count=count,
               mb=PHOTO_MAX_MB) if count else
            _l("JPEG or PNG, at most %(mb)d MB.", mb=PHOTO_MAX_MB))
    return field_class(label, description=hint, validators=[
        FileAllowed(IMAGE_TYPES, _l("Upload JPEG or PNG photos.")), _photo_size],
        render_kw={"accept": "image/jpeg,image/png,image/webp",
                   "data-max-bytes": str(PHOTO_MAX_BYTES),
                   "data-too-large": _l("“{name}” is {size} MB; each photo may be at most "
                                        "{mb} MB. Choose a smaller photo."),
                   "data-mb": str(PHOTO_MAX_MB)})

