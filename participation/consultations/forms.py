"""Forms of consultations and their phases."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    Optional,
)

from participation.forms import photo_field, required, sensible_date


class ConsultationForm(FlaskForm):
    template = RadioField(_l("Template"), choices=[], validators=[InputRequired(
        message=_l("Choose one of the templates."))])
    title = StringField(_l("Title"), validators=[required(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)],
                                description=_l("Markdown: **bold**, lists with -, links."))
    sites = StringField(_l("Sites concerned"), validators=[Length(max=300)],
                        description=_l("E.g. the corner behind 3号楼, the idle land by the gate."))
    starts_on = DateField(_l("First phase starts on"), validators=[InputRequired(
        message=_l("Enter a date.")), sensible_date])


class ConsultationEditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[required(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)],
                                description=_l("Markdown: **bold**, lists with -, links."))
    sites = StringField(_l("Sites concerned"), validators=[Length(max=300)])
    cover = photo_field(FileField, _l("Cover picture (optional)"))
    remove_cover = BooleanField(_l("Remove the cover picture"))


class PhaseRowForm(Form):
    # Which saved phase the row shows (empty for a new one), so edits keep what hangs on it.
    phase_id = HiddenField()
    kind = SelectField(_l("Phase"), choices=[])
    starts_at = DateTimeLocalField(_l("Starts"), validators=[Optional(), sensible_date])
    ends_at = DateTimeLocalField(_l("Ends"), validators=[Optional(), sensible_date])
    remove = BooleanField(_l("Remove this phase"))

    def validate(self, extra_validators=None) -> bool:
        # A row is either empty (the spare one), marked for removal, or complete. This is checked
        # here, not in a field's validator: Optional() ends an empty field's validation early.
        valid = super().validate(extra_validators)
        starts, ends = self.starts_at, self.ends_at
        if self.remove.data or starts.errors or ends.errors or (not starts.data and not ends.data):
            return valid
        if not starts.data:
            starts.errors = [*starts.errors, _l("Enter a date and time.")]
            ends.errors = [*ends.errors, _l("Enter both dates, or leave the row empty.")]
            return False
        if not ends.data:
            ends.errors = [*ends.errors, _l("Enter a date and time.")]
            return False
        return valid


MAX_PHASES = 12


class PhasesForm(FlaskForm):
    # One spare row beyond the limit, for adding a phase.
    phases = FieldList(FormField(PhaseRowForm), min_entries=1, max_entries=MAX_PHASES + 1)
