"""Forms of the core. Labels and messages are lazy strings, translated when rendered."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form
from flask_wtf.file import FileAllowed, FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from .security import MIN_PASSWORD_LENGTH, password_problem

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_login(form, field) -> None:
    from .operations import normalise_login

    kind, value = normalise_login(field.data or "")
    if kind == "email" and not EMAIL_RE.match(value):
        raise ValidationError(_l("Enter a valid e-mail address."))
    if kind == "phone" and not PHONE_RE.match(value):
        raise ValidationError(_l("Enter an 11-digit mainland mobile number or an e-mail address."))


def strong_password(form, field) -> None:
    problem = password_problem(field.data or "")
    if problem == "too_short":
        raise ValidationError(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if problem == "too_common":
        raise ValidationError(_l("This password is too common and easy to guess. Choose another."))


def sensible_date(form, field) -> None:
    """Dates a community plans with; far ones are typing slips (and overflow time arithmetic)."""
    value = field.data
    if value is not None and not (2000 <= value.year <= 2100):
        raise ValidationError(_l("Enter a date between the years 2000 and 2100."))


def required(message=None):
    return DataRequired(message=message or _l("This field is required."))


class EmptyForm(FlaskForm):
    """A POST button: carries only the CSRF token."""


class RegisterForm(FlaskForm):
    display_name = StringField(
        _l("Display name"), validators=[required(), Length(max=40)],
        description=_l("Shown to other residents. You may use a nickname."),
    )
    login = StringField(_l("Mobile number or e-mail"), validators=[required(), Length(max=254),
                                                                   valid_login])
    password = PasswordField(_l("Password"), validators=[required(), strong_password],
                             description=_l("At least 8 characters; not a common password."))
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[required(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail"), validators=[required(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[required()])
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail"), validators=[required(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[required(), strong_password])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[required(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class ChangePasswordForm(ResetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[required()])


class LanguageForm(FlaskForm):
    locale = HiddenField(validators=[required()])
    next = HiddenField()


class DisplayForm(FlaskForm):
    large_text = HiddenField()
    next = HiddenField()


class CommunityForm(FlaskForm):
    name = StringField(_l("Community name"), validators=[required(), Length(max=80)])
    district = StringField(_l("District"), validators=[required(), Length(max=80)])
    street = StringField(_l("Street (sub-district)"), validators=[required(), Length(max=80)])
    committee_name = StringField(_l("Residents' committee"),
                                 validators=[required(), Length(max=80)])
    household_count = IntegerField(
        _l("Number of households"),
        validators=[Optional(), NumberRange(min=0, max=100000,
                                            message=_l("Enter a number from 0 to 100,000."))],
    )


class AssignRoleForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail of the user"),
                        validators=[required(), Length(max=254)])
    role = SelectField(_l("Role"), choices=[
        SelectChoice("planner", _l("Responsible planner")),
        SelectChoice("committee", _l("Committee member")),
        SelectChoice("moderator", _l("Moderator")),
    ], validators=[InputRequired()])


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Roster file (CSV, UTF-8)"),
                     validators=[FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])
    text = TextAreaField(_l("Or paste the roster here"), validators=[Optional(),
                                                                     Length(max=1_000_000)])


class RosterConfirmForm(FlaskForm):
    text = HiddenField(validators=[required()])


class IssueInvitesForm(FlaskForm):
    building = SelectField(_l("Building"), choices=[], validate_choice=False)
    only_without_code = BooleanField(_l("Only households without a valid code"), default=True)
    days = IntegerField(_l("Valid for (days)"), default=30, validators=[
        InputRequired(), NumberRange(min=1, max=365, message=_l("Enter 1 to 365 days."))])


class RedeemForm(FlaskForm):
    code = StringField(_l("Invite code"), validators=[required(), Length(max=40)],
                       description=_l("The code on the slip from your residents' committee, "
                                      "e.g. ABCD-EFGH-JKMN."))


class HouseholdAddressForm(FlaskForm):
    """A household typed as people say it; `operations.find_household` looks it up."""

    building = StringField(_l("Building"), validators=[required(), Length(max=20)],
                           description=_l("As in the roster, e.g. 3号楼 (or just 3)."))
    unit = StringField(_l("Unit"), validators=[required(), Length(max=20)],
                       description=_l("E.g. 2单元 (or just 2)."))
    room = StringField(_l("Room"), validators=[required(), Length(max=20)],
                       description=_l("E.g. 502."))


class VerifyMemberForm(HouseholdAddressForm):
    pass


class RevokeMemberForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[required(), Length(max=200)])


# --- consultations, discussions, moderation, meetings -----------------------------------------

STANCE_CHOICES = [
    SelectChoice("support", _l("Support")),
    SelectChoice("oppose", _l("Oppose")),
    SelectChoice("neutral", _l("Neutral")),
]


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


IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]


class ConsultationEditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[required(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)],
                                description=_l("Markdown: **bold**, lists with -, links."))
    sites = StringField(_l("Sites concerned"), validators=[Length(max=300)])
    cover = FileField(_l("Cover picture (optional)"), validators=[
        FileAllowed(IMAGE_TYPES, _l("Upload a JPEG or PNG photo."))])
    remove_cover = BooleanField(_l("Remove the cover picture"))


class PhaseRowForm(Form):
    # Which saved phase the row shows (empty for a new one), so edits keep what hangs on it.
    phase_id = HiddenField()
    kind = SelectField(_l("Phase"), choices=[])
    starts_at = DateTimeLocalField(_l("Starts"), validators=[Optional(), sensible_date])
    ends_at = DateTimeLocalField(_l("Ends"), validators=[Optional(), sensible_date])
    remove = BooleanField(_l("Remove this phase"))

    def validate_ends_at(self, field) -> None:
        # A row is either empty (the spare one), marked for removal, or complete.
        if self.remove.data or (not self.starts_at.data and not field.data):
            return
        if not self.starts_at.data:
            self.starts_at.errors = [*self.starts_at.errors, _l("Enter a date and time.")]
            raise ValidationError(_l("Enter both dates, or leave the row empty."))
        if not field.data:
            raise ValidationError(_l("Enter a date and time."))


MAX_PHASES = 12


class PhasesForm(FlaskForm):
    # One spare row beyond the limit, for adding a phase.
    phases = FieldList(FormField(PhaseRowForm), min_entries=1, max_entries=MAX_PHASES + 1)


class TopicForm(FlaskForm):
    title = StringField(_l("Topic"), validators=[required(), Length(max=120)])
    body = TextAreaField(_l("What would you like to discuss?"), validators=[Length(max=10000)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[required(), Length(max=5000)])
    stance = RadioField(_l("Your stance"), choices=STANCE_CHOICES, validators=[Optional()])
    parent_id = HiddenField()


class EditCommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[required(), Length(max=5000)])
    stance = RadioField(_l("Your stance"), choices=STANCE_CHOICES, validators=[Optional()])


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("Official answer"), validators=[required(), Length(max=10000)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[required(), Length(max=200)])


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
        InputRequired(), NumberRange(min=0, max=100000,
                                     message=_l("Enter a number from 0 to 100,000."))])
    attendee_names = StringField(
        _l("Committee members and representatives present (optional)"),
        validators=[Length(max=500)])
    minutes = TextAreaField(_l("Minutes"), validators=[Length(max=50000)],
                            description=_l("Markdown: **bold**, lists with -, links."))
    items = FieldList(FormField(AgendaItemForm), min_entries=3, max_entries=20)
    photos = MultipleFileField(_l("Photos (up to 6)"), validators=[
        FileAllowed(IMAGE_TYPES, _l("Upload JPEG or PNG photos."))])
    publish = BooleanField(_l("Publish to the residents of the community"))
