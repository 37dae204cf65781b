"""Forms of children's design calls."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from participation.children.forms import age_band_choices
from participation.children.models import NICKNAME_MAX
from participation.forms import photo_field, required

from .models import TITLE_MAX, WANT_MAX

# Drawings sent in one go (at most 10 MB each, within the request's 64 MB); a larger workshop
# sends a second batch.
WORKSHOP_ROWS = 6


class CallForm(FlaskForm):
    title = StringField(_l("Title"), validators=[required(), Length(max=80)],
                        description=_l("E.g. 我们的口袋公园."))
    prompt = TextAreaField(
        _l("What children are asked"), validators=[required(), Length(max=1000)],
        description=_l("In words a child understands, e.g. “What would you like to play here? "
                       "Draw it!”"))
    site_id = SelectField(_l("Site of the community's inventory"), choices=[],
                          validate_choice=False)
    age_bands = SelectMultipleField(
        _l("Children invited"), choices=[], option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[InputRequired(message=_l("Choose at least one age band."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.age_bands.choices = age_band_choices()


class DesignForm(FlaskForm):
    child_id = RadioField(_l("Whose design is it?"), choices=[], validate_choice=False,
                          validators=[InputRequired(message=_l("Choose one of your children."))])
    title = StringField(_l("Name of the design"), validators=[required(), Length(max=TITLE_MAX)],
                        description=_l("E.g. 彩虹滑梯."))
    want = TextAreaField(_l("What I want here (optional)"), validators=[Length(max=WANT_MAX)],
                         description=_l("A sentence or two, in the child's words."))
    drawing = photo_field(FileField, _l("Photo or scan of the drawing"))

    def validate_drawing(self, field) -> None:
        from wtforms.validators import StopValidation

        from participation.uploads import is_uploaded

        if not is_uploaded(field.data):
            raise StopValidation(_l("Add a photo of the drawing."))


class WorkshopDrawingForm(Form):
    nickname = StringField(_l("Nickname"), validators=[Optional(), Length(max=NICKNAME_MAX)])
    age_band = SelectField(_l("Age"), choices=[], validate_choice=False)
    title = StringField(_l("Name of the design"), validators=[Length(max=TITLE_MAX)])
    want = StringField(_l("What the child wants here (optional)"),
                       validators=[Length(max=WANT_MAX)])
    drawing = photo_field(FileField, _l("Photo or scan of the drawing"))


class WorkshopForm(FlaskForm):
    place = StringField(_l("Where the workshop was held"), validators=[required(),
                                                                       Length(max=120)])
    held_on = DateField(_l("Date of the workshop"), validators=[InputRequired(
        message=_l("Enter the date of the workshop."))])
    collected_by = StringField(
        _l("Guardians' paper consents collected by"), validators=[required(), Length(max=80)],
        description=_l("Who collected the signed consent forms and keeps them."))
    collected_on = DateField(_l("Collected on"), validators=[InputRequired(
        message=_l("Enter when the consents were collected."))])
    consents = IntegerField(
        _l("Number of signed consents"), validators=[
            InputRequired(message=_l("Enter how many signed consents were collected.")),
            NumberRange(min=1, max=500, message=_l("Enter a number from 1 to 500."))])
    drawings = FieldList(FormField(WorkshopDrawingForm), min_entries=WORKSHOP_ROWS,
                         max_entries=WORKSHOP_ROWS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in self.drawings:
            row.age_band.choices = [("", _l("Choose"))] + age_band_choices()
