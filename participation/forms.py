"""Forms of the core. Labels and messages are lazy strings, translated when rendered."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
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


class VerifyMemberForm(FlaskForm):
    building = StringField(_l("Building"), validators=[required(), Length(max=20)],
                           description=_l("As in the roster, e.g. 3号楼 (or just 3)."))
    unit = StringField(_l("Unit"), validators=[required(), Length(max=20)],
                       description=_l("E.g. 2单元 (or just 2)."))
    room = StringField(_l("Room"), validators=[required(), Length(max=20)],
                       description=_l("E.g. 502."))


class RevokeMemberForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[required(), Length(max=200)])
