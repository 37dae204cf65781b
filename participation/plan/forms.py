"""Forms of the plan: one checklist item's finding in a checkup; a site of the inventory and
the community's site plan; a plan, its projects, its weights and residents' responses."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from participation.forms import DecimalField, photo_field, required, sensible_date
from participation.i18n import today_shown

from .models import STANCES, STATES

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


SITE_KIND_LABELS = {
    "idle_land": _l("Idle or under-used land"),
    "micro_space": _l("Micro-space or corner"),
    "freed_land": _l("Land freed by removing temporary buildings"),
    "public_housing": _l("Public or publicly owned housing"),
    "old_compound": _l("Old residential compound"),
    "public_space": _l("Public space"),
    "public_facility": _l("Public facility"),
    "heritage": _l("Historic or cultural feature"),
}
COORDINATE = [Optional(), NumberRange(min=0, max=100, message=_l(
    "Enter a number from 0 to 100: the share of the plan's width or height."))]


class SiteForm(FlaskForm):
    kind = SelectField(_l("Kind of site"), choices=[SelectChoice(k, v) for k, v in
                                                   SITE_KIND_LABELS.items()],
                       validators=[InputRequired(message=_l("Choose the kind of site."))])
    name = StringField(_l("Name"), validators=[required(), Length(max=120)], description=_l(
        "How residents call it, e.g. “the empty lot behind building 3”."))
    area_m2 = DecimalField(_l("Area, m² (optional)"), places=2, validators=[
        Optional(), NumberRange(min=0, max=99_999_999,
                                message=_l("Enter a number from 0 to 99,999,999."))])
    owner = StringField(_l("Owner or manager (optional)"), validators=[Length(max=200)])
    state = StringField(_l("State (optional)"), validators=[Length(max=200)],
                        description=_l("E.g. idle, used as parking, fenced off."))
    notes = TextAreaField(_l("Notes (optional)"), validators=[Length(max=5000)])
    x = DecimalField(_l("Pin: across, in percent of the plan's width from the left"), places=2,
                     validators=COORDINATE)
    y = DecimalField(_l("Pin: down, in percent of the plan's height from the top"), places=2,
                     validators=COORDINATE)
    photos = photo_field(MultipleFileField, _l("Photos (up to 6)"), count=6)


class SitePlanForm(FlaskForm):
    image = photo_field(FileField, _l("Site plan: a drawing or aerial image of the community"))


class PlanForm(FlaskForm):
    title = StringField(_l("Title of the plan"), validators=[required(), Length(max=120)],
                        description=_l("E.g. “2027 年度社区更新方案”."))


COST = [Optional(), NumberRange(min=0, max=9_999_999_999,
                                message=_l("Enter a number from 0 to 9,999,999,999."))]


class ProjectForm(FlaskForm):
    title = StringField(_l("Title"), validators=[required(), Length(max=200)])
    description = TextAreaField(_l("Description (optional)"), validators=[Length(max=5000)])
    item_id = SelectField(_l("Checklist item (optional)"), choices=[])
    category = SelectField(_l("Category (optional; taken from the item when there is one)"),
                           choices=[])
    site_id = SelectField(_l("Site (optional)"), choices=[])
    cost = DecimalField(_l("Estimated cost, yuan (optional)"), places=2, validators=COST)
    funding = StringField(_l("Funding source (optional)"), validators=[Length(max=200)],
                          description=_l("E.g. community fund, street budget, co-funded by "
                                         "residents."))
    responsible = StringField(_l("Responsible party (optional)"),
                              validators=[Length(max=200)])
    timeline = StringField(_l("Timeline (optional)"), validators=[Length(max=200)],
                           description=_l("E.g. design in spring 2027, built by autumn."))


def _two_places(form, field) -> None:
    """A score shows every weight × signal exactly: weights have at most two decimals."""
    if field.data is not None and field.data.as_tuple().exponent < -2:
        raise ValidationError(_l("Use at most two decimal places."))


WEIGHT = [InputRequired(message=_l("Enter a weight.")),
          NumberRange(min=-1000, max=1000, message=_l("Enter a number from -1,000 to 1,000.")),
          _two_places]


class WeightsForm(FlaskForm):
    reason = TextAreaField(_l("Why do the weights change?"),
                           validators=[required(), Length(max=1000)],
                           description=_l("Kept in the community's log beside the change."))


def weights_form(sources: dict, weights: dict, formdata=...) -> WeightsForm:
    """The weights form for the registered sources: one number per source."""

    class Form(WeightsForm):
        pass

    for key, source in sources.items():
        setattr(Form, f"w_{key}", DecimalField(
            _l("Weight of %(source)s, per %(signal)s", source=source.label,
               signal=source.signal), places=None, validators=WEIGHT, default=weights[key]))
    return Form() if formdata is ... else Form(formdata=formdata)


STANCE_LABELS = {"support": _l("I support this project"),
                 "object": _l("I object to this project")}


class ResponseForm(FlaskForm):
    stance = RadioField(_l("Your view"), choices=[SelectChoice(s, STANCE_LABELS[s])
                                                  for s in STANCES],
                        validators=[InputRequired(message=_l(
                            "Choose whether you support the project or object to it."))])
    comment = TextAreaField(_l("What you would say about it (optional)"),
                            validators=[Length(max=2000)])


OUTCOME_LABELS = {"adopt": _l("Adopt"), "defer": _l("Defer"), "reject": _l("Reject")}
# The fields of a project a version keeps, as the comparison of two versions names them.
FIELD_LABELS = {"title": _l("Title"), "description": _l("Description"),
                "category": _l("Category"), "item_id": _l("Checklist item"), "site": _l("Site"),
                "cost": _l("Estimated cost"), "funding": _l("Funding source"),
                "responsible": _l("Responsible party"), "timeline": _l("Timeline"),
                "score": _l("Priority score"), "outcome": _l("Decision"),
                "votes": _l("Votes for, against, abstaining"), "rationale": _l("Rationale"),
                "sources": _l("Sources")}
COUNT = [InputRequired(message=_l("Enter a whole number.")),
         NumberRange(min=0, max=1000, message=_l("Enter a number from 0 to 1,000."))]


class DecisionForm(FlaskForm):
    held_on = DateField(_l("The committee met on"), validators=[
        InputRequired(message=_l("Enter the date of the meeting.")), sensible_date])
    members_present = TextAreaField(_l("Members present, one name per line"),
                                    validators=[required(), Length(max=2000)])
    present = IntegerField(_l("How many members were present"), validators=COUNT)
    committee_size = IntegerField(_l("How many members the committee has"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=1, max=1000, message=_l("Enter a number from 1 to 1,000."))])


class ObjectionForm(FlaskForm):
    project_id = SelectField(_l("The project you object to"), choices=[],
                             validators=[InputRequired(message=_l("Choose a project."))])
    reason = TextAreaField(_l("Why you object"), validators=[required(), Length(max=2000)],
                           description=_l("The committee answers every objection publicly, "
                                          "here."))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("The committee's answer"),
                           validators=[required(), Length(max=2000)])


STATUS_LABELS = {"not_started": _l("Not started"), "design": _l("In design"),
                 "construction": _l("In construction"), "done": _l("Done"),
                 "cancelled": _l("Cancelled")}
UPDATE_PHOTOS = 4


class ProgressForm(FlaskForm):
    on = DateField(_l("Date of the update"), validators=[
        InputRequired(message=_l("Enter the date of the update.")), sensible_date])
    status = RadioField(_l("Status"), choices=[SelectChoice(k, v) for k, v in
                                               STATUS_LABELS.items()],
                        validators=[InputRequired(message=_l("Choose the project's status."))])
    progress = IntegerField(_l("Progress, in percent"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=0, max=100, message=_l("Enter a number from 0 to 100."))],
        description=_l("A project marked done counts as 100%."))
    text = TextAreaField(_l("What happened"), validators=[required(), Length(max=5000)])
    cancel_reason = TextAreaField(_l("Why it is cancelled (only for a cancelled project)"),
                                  validators=[Length(max=2000)])
    photos = photo_field(MultipleFileField, _l("Photos (up to 4)"), count=UPDATE_PHOTOS)

    def validate_on(self, field) -> None:
        if field.data and field.data > today_shown():
            raise ValidationError(_l("An update reports what has happened: its date cannot be "
                                     "in the future."))

    def validate_cancel_reason(self, field) -> None:
        if self.status.data == "cancelled" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the project is cancelled."))

    def validate_photos(self, field) -> None:
        if len([f for f in field.data or [] if getattr(f, "filename", "")]) > UPDATE_PHOTOS:
            raise ValidationError(_l("Attach at most %(n)d photos to one update.",
                                     n=UPDATE_PHOTOS))

PLAN_STATE_LABELS = {"none": _l("No plan yet"), "draft": _l("Draft, not yet decided"),
                     "decided": _l("Decided, not yet published"),
                     "notice": _l("Under public notice"), "final": _l("Final")}
