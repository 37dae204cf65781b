"""Forms of the children's pages."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length

from participation.forms import required

from .models import NICKNAME_MAX


class ConsentForm(FlaskForm):
    answer = RadioField(_l("Your answer"), choices=[
        SelectChoice("agree", _l("I have read the notice and consent, as the child's guardian")),
        SelectChoice("refuse", _l("I do not consent"))],
        validators=[InputRequired(message=_l("Choose whether you consent."))])


def age_band_choices() -> list[SelectChoice]:
    return [SelectChoice(band, _l("%(band)s years", band=band))
            for band in current_app.config["CHILD_AGE_BANDS"]]


class ChildForm(FlaskForm):
    nickname = StringField(
        _l("Nickname"), validators=[required(), Length(max=NICKNAME_MAX)],
        description=_l("What the child likes to be called here, such as 小树 or 跳跳: never "
                       "the child's real name. At most 12 characters."))
    age_band = RadioField(_l("Age"), choices=[],
                          validators=[InputRequired(message=_l("Choose the child's age."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.age_band.choices = age_band_choices()
