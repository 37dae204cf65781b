"""Forms of meeting records."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    ValidationError,
)

from participation.forms import photo_field, required, required_number, sensible_date


class AgendaItemForm(Form):
    title = StringField(_l("Agenda item"), validators=[Length(max=200)])
    topic_id = SelectField(_l("Linked topic"), choices=[], validate_choice=False)
    decision = TextAreaField(_l("Decision"), validators=[Length(max=5000)])

    def validate_title(self, field) -> None:
        if not (field.data or "").strip() and (self.decision.data or self.topic_id.data):
            raise ValidationError(_l("Give this agenda item a title, or clear it."))


class MeetingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[required(), Length(max=120)])
    held_at = DateTimeLocalField(_l("Date and time"), validators=[InputRequired(
        message=_l("Enter a date and time.")), sensible_date])
    place = StringField(_l("Place"), validators=[required(), Length(max=120)])
    attendance = IntegerField(_l("Number of participants"), validators=[
        required_number(), NumberRange(min=0, max=100000,
                                     message=_l("Enter a number from 0 to 100,000."))])
    attendee_names = StringField(
        _l("Committee members and representatives present (optional)"),
        validators=[Length(max=500)])
    minutes = TextAreaField(_l("Minutes"), validators=[Length(max=50000)],
                            description=_l("Markdown: **bold**, lists with -, links."))
    items = FieldList(FormField(AgendaItemForm), min_entries=3, max_entries=20)
    photos = photo_field(MultipleFileField, _l("Photos (up to 6)"), count=6)
    publish = BooleanField(_l("Publish to the residents of the community"))
