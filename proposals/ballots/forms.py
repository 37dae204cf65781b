"""Forms of ballots: the rules, paper batches and paper entries."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from participation.communities.forms import HouseholdAddressForm
from participation.forms import DecimalField, required, sensible_date


class BallotForm(FlaskForm):
    """The rules of a ballot. The proposals on it (and their costs) come as `option` and
    `cost-<id>` fields, drawn by the template from the shortlist."""

    title = StringField(_l("Title of the vote"), validators=[required(), Length(max=120)])
    phase_id = SelectField(_l("Vote phase"), choices=[], coerce=int, validate_choice=False)
    method = RadioField(_l("How people vote"), choices=[
        SelectChoice("single", _l("Single choice: one proposal each")),
        SelectChoice("approval", _l("Approval: choose up to k proposals (k is set below)")),
        SelectChoice("budget", _l("Budget: choose proposals whose total cost fits the budget")),
    ], default="approval", validators=[InputRequired(message=_l("Choose how people vote."))])
    max_choices = IntegerField(_l("At most this many choices (approval)"), validators=[
        Optional(), NumberRange(min=1, max=30, message=_l("Enter a number from 1 to 30."))])
    budget = DecimalField(_l("Budget to share out, in yuan"), places=2,
                          description=_l("Needed for a budget vote. With an approval vote it is "
                                         "optional: the results then show what it funds."),
                          validators=[Optional(), NumberRange(
                              min=1, max=100_000_000, message=_l("Enter an amount above 0."))])
    eligibility = RadioField(_l("Who votes"), choices=[
        SelectChoice("resident", _l("One ballot per verified resident")),
        SelectChoice("household", _l("One ballot per household in the roster")),
    ], default="resident", validators=[InputRequired(message=_l("Choose who votes."))])
    secrecy = RadioField(_l("Open or secret"), choices=[
        SelectChoice("open", _l("Open: each ballot is kept with its voter, who may change it "
                                "until the phase ends; the site never publishes who voted what")),
        SelectChoice("secret", _l("Secret: nobody, committee included, can see who voted what; final")),
    ], default="open", validators=[InputRequired(message=_l("Choose open or secret."))])
    preset = RadioField(_l("Decision rule"), choices=[
        SelectChoice("advisory", _l("Simple consultation: a ranking that advises, no quorum")),
        SelectChoice("residents_meeting", _l("Residents' meeting: more than half take part, a proposal "
                                 "passes with more than half of those voting")),
        SelectChoice("civil_ordinary", _l(
            "Owners' decision under Civil Code art. 278, items 1-5 and 9: owners holding 2/3 of "
            "the exclusive floor area and 2/3 of all owners take part in the vote; more than "
            "half of the participating area and of the participating owners agree")),
        SelectChoice("civil_major", _l(
            "Owners' decision under Civil Code art. 278, items 6-8 (raising maintenance funds; "
            "rebuilding the building or its facilities; changing the use of common parts or "
            "running a business in them): the same participation; at least 3/4 of the "
            "participating area and of the participating owners agree")),
        SelectChoice("custom", _l("Custom quorum and threshold")),
    ], default="advisory", validators=[InputRequired(message=_l("Choose a decision rule."))])
    quorum_pct = DecimalField(_l("Quorum: share of those eligible who must take part (%)"),
                              places=2, validators=[Optional(), NumberRange(
                                  min=0, max=100, message=_l("Enter a percentage, 0 to 100."))])
    threshold_pct = DecimalField(_l("Threshold: share of voters a proposal needs (%)"),
                                 places=2, validators=[Optional(), NumberRange(
                                     min=1, max=100,
                                     message=_l("Enter a percentage, 1 to 100."))])
    results_live = BooleanField(_l("Show results while the vote runs"))


class PaperBatchForm(FlaskForm):
    collected_by = StringField(_l("Collected by"), validators=[required(), Length(max=80)],
                               description=_l("Who went door to door or staffed the box."))
    collected_on = DateField(_l("Collected on"), validators=[required(), sensible_date])


class PaperEntryForm(HouseholdAddressForm):
    login = StringField(_l("Voter's mobile number or e-mail"), validators=[Length(max=254)],
                        description=_l("This ballot is per resident: say which verified resident "
                                       "of the household voted on paper."))


class RegisterAddForm(HouseholdAddressForm):
    login = StringField(_l("Resident's mobile number or e-mail"), validators=[Length(max=254)],
                        description=_l("This ballot is per resident: say which resident of the "
                                       "household was verified after voting opened."))
