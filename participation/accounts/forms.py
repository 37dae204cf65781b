"""Forms of accounts: registering, logging in, passwords, preferences."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    PasswordField,
    StringField,
)
from wtforms.validators import (
    EqualTo,
    Length,
    ValidationError,
)

from participation.forms import required
from participation.security import MIN_PASSWORD_LENGTH, password_problem

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
