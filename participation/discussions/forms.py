"""Forms of discussions and moderation."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Length,
    Optional,
)

from participation.forms import required

STANCE_CHOICES = [
    SelectChoice("support", _l("Support")),
    SelectChoice("oppose", _l("Oppose")),
    SelectChoice("neutral", _l("Neutral")),
]


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
