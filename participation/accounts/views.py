"""Pages of accounts: registering, logging in and out, passwords, preferences."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user

from participation.errors import OperationError
from participation.extensions import db, limiter
from participation.forms import EmptyForm
from participation.i18n import select_locale
from participation.policy import require
from participation.security import verify_password
from participation.web import (
    external_url,
    field_error,
    render,
    safe_next,
    see_other,
)

from . import operations as ops
from .forms import (
    ChangePasswordForm,
    DisplayForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from .models import User

bp = Blueprint("accounts", __name__)


def _account_key() -> str:
    """Rate-limit key for the account a login or reset names (normalised, so variants count once)."""
    kind, value = ops.normalise_login(request.form.get("login", ""))
    return f"account:{kind}:{value}"


def _failed(response) -> bool:
    """Only failed attempts count toward login limits: a resident who logs in successfully
    several times (a workshop, a shared community-centre computer) is never locked out."""
    return response.status_code != 303



@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return see_other(url_for("communities.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = ops.register_user(form.display_name.data, form.login.data, form.password.data,
                                     locale=select_locale(),
                                     large_text=bool(session.get("large_text")))
        except OperationError as error:
            field_error(form.login, error)
        else:
            ops.start_session(user)
            flash(_("Welcome, %(name)s! Join your community with the invite code from your "
                    "residents' committee.", name=user.display_name), "success")
            return see_other(url_for("communities.redeem"))
    return render("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT_ADDRESS"], methods=["POST"],
               key_func=lambda: f"{_account_key()}:{get_remote_address()}", deduct_when=_failed)
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = ops.authenticate(form.login.data, form.password.data)
        if user is None:
            form.password.errors = [_("The account or password is not correct.")]
        else:
            ops.start_session(user)
            home = (url_for("communities.community", community_id=user.current_community_id)
                    if user.current_community_id else url_for("communities.index"))
            return see_other(safe_next(form.next.data, home))
    return render("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        ops.end_session()
        flash(_("You have logged out."), "info")
    return see_other(url_for("communities.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"], methods=["POST"],
               key_func=_account_key)
def forgot_password():
    code = request.args.get("code", "")
    if code.strip():
        # The one-time code a committee member gave in person opens the same reset page.
        return see_other(url_for("accounts.reset_password",
                                 token=ops.normalise_reset_code(code) or "-"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ops.request_password_reset(
            form.login.data, lambda token: external_url("accounts.reset_password", token=token))
        flash(ngettext(
            "If an account with this e-mail address exists, a link to reset its password is on "
            "its way; it is valid for %(num)d hour. Registered with a mobile number? Ask the "
            "residents' committee for help.",
            "If an account with this e-mail address exists, a link to reset its password is on "
            "its way; it is valid for %(num)d hours. Registered with a mobile number? Ask the "
            "residents' committee for help.",
            current_app.config["PASSWORD_RESET_HOURS"]), "info")
        return see_other(url_for("accounts.login"))
    return render("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    if ops.reset_token_user(token) is None:
        return render("accounts/reset_password.html", form=None, status=404)
    if form.validate_on_submit():
        try:
            ops.reset_password(token, form.password.data)
        except OperationError as error:
            field_error(form.password, error)
        else:
            flash(_("Your password has been changed. Please log in with the new password."),
                  "success")
            return see_other(url_for("accounts.login"))
    return render("accounts/reset_password.html", form=form)


@bp.get("/account")
def account():
    require("account.use")
    return render("accounts/account.html", form=ChangePasswordForm())


@bp.post("/account/password")
@limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"],
               key_func=lambda: f"password:{current_user.get_id()}")
def change_password():
    require("account.use")
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            form.current.errors = [_("The current password is not correct.")]
        else:
            # The real object: login_user() must not store the current_user proxy itself.
            ops.change_password(current_user._get_current_object(), form.password.data)
            flash(_("Your password has been changed. Other devices have been signed out."),
                  "success")
            return see_other(url_for("accounts.account"))
    return render("accounts/account.html", form=form)


# --- preferences ------------------------------------------------------------------------------


@bp.post("/language")
def set_language():
    form = LanguageForm()
    target = safe_next(form.next.data, url_for("communities.index"))
    if form.validate_on_submit():
        try:
            ops.update_preferences(_signed_in(), locale=form.locale.data)
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
    return see_other(target)


@bp.post("/display")
def set_display():
    form = DisplayForm()
    target = safe_next(form.next.data, url_for("communities.index"))
    if form.validate_on_submit():
        ops.update_preferences(_signed_in(), large_text=form.large_text.data == "on")
    return see_other(target)


def _signed_in() -> User | None:
    return current_user if current_user.is_authenticated else None
