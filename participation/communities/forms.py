"""Forms of communities: the platform admin's, the roster, invite codes, members."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Length,
    NumberRange,
    Optional,
)

from participation.forms import required, required_number


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


class CommunitySettingsForm(FlaskForm):
    unverified_may_comment = BooleanField(
        _l("Members not yet verified may comment"),
        description=_l("Anyone can read the community's published pages. Members who joined "
                       "without an invite code can always read; tick this to let them comment "
                       "and open topics too. Supporting and voting stay with verified "
                       "residents."))


class AssignRoleForm(FlaskForm):
    login = StringField(_l("Mobile number or e-mail of the user"),
                        validators=[required(), Length(max=254)])
    role = SelectField(_l("Role"), choices=[
        SelectChoice("planner", _l("Responsible planner")),
        SelectChoice("committee", _l("Committee member")),
        SelectChoice("moderator", _l("Moderator")),
    ], validators=[required_number()])


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
        required_number(), NumberRange(min=1, max=365, message=_l("Enter 1 to 365 days."))])


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
