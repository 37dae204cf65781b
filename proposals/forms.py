"""Forms of the proposals area."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
)

from participation.forms import (
    DecimalField,
    photo_field,
    required,
)


class ProposalForm(FlaskForm):
    title = StringField(_l("Title"), validators=[required(), Length(max=120)])
    description = TextAreaField(_l("What should change, and why?"),
                                validators=[Length(max=10000)],
                                description=_l("Markdown: **bold**, lists with -, links."))
    category = SelectField(_l("Category"), choices=[], validators=[
        DataRequired(message=_l("Choose a category from the list."))])
    site = StringField(_l("Where?"), validators=[required(), Length(max=200)],
                       description=_l("E.g. the idle corner behind 3号楼."))
    site_id = SelectField(_l("Site of the community's inventory (optional)"), choices=[],
                          validate_choice=False)
    estimated_cost = DecimalField(_l("Estimated cost in yuan (optional)"), places=2,
                                  validators=[Optional(), NumberRange(
                                      min=0, max=100_000_000,
                                      message=_l("Enter an amount of 0 or more."))])
    photos = photo_field(MultipleFileField, _l("Photos (up to 5)"), count=5)


class ReviewForm(FlaskForm):
    status = SelectField(_l("Answer"), choices=[])
    reason = TextAreaField(_l("Public reason"), validators=[Length(max=500)])


class MergeForm(FlaskForm):
    target_id = RadioField(_l("Merge into"), choices=[], validate_choice=False)
    confirm = BooleanField(_l("I understand: supports move over and this cannot be undone."),
                           validators=[DataRequired(message=_l("Tick the box to merge."))])
