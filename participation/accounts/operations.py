"""State changes of accounts: registration, sessions, passwords, preferences.

Each function validates, writes, flushes and records an audit event; the request's single commit
happens after the view. They raise `OperationError` with a translated message when the change
cannot happen; nothing has been written when they do.
"""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import current_app, session
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from participation.audit.operations import record
from participation.clock import utcnow
from participation.database import insert_unless_exists
from participation.errors import OperationError
from participation.extensions import db
from participation.mail import queue_mail
from participation.security import (
    DUMMY_PASSWORD_HASH,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)

from .models import PasswordResetToken, User, UserSession

if TYPE_CHECKING:
    from participation.communities.models import Community

log = logging.getLogger(__name__)

# A code read out or typed on a phone: no 0/O, 1/I/L; 12 characters are about 59 bits, against
# a rate-limited reset page and a life of an hour.
RESET_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RESET_CODE_LENGTH = 12


def normalise_login(value: str) -> tuple[str, str]:
    """Split a login into ("email", address) or ("phone", digits)."""
    value = value.strip()
    if "@" in value:
        return "email", value.lower()
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return "phone", digits


def find_user(login: str) -> User | None:
    kind, value = normalise_login(login)
    column = User.email if kind == "email" else User.phone
    return db.session.scalar(select(User).where(column == value))


def register_user(display_name: str, login: str, password: str, locale: str | None = None,
                  large_text: bool = False) -> User:
    # Hash before the first query: on SQLite that query takes the write lock for the request.
    password_hash = hash_password(password)
    kind, value = normalise_login(login)
    taken = _("This phone number or e-mail is already registered. Log in, or reset the password.")
    if find_user(login) is not None:
        raise OperationError(taken)
    user = User(display_name=display_name.strip(), password_hash=password_hash, locale=locale,
                large_text=large_text)
    setattr(user, kind, value)
    if not insert_unless_exists(user):  # a second submission raced the first one
        raise OperationError(taken)
    record("user.register", actor=user, target=f"user:{user.id}")
    return user


def authenticate(login: str, password: str) -> User | None:
    """Return the user for these credentials; takes the same time whether or not they exist."""
    user = find_user(login)
    if user is None:
        verify_password(DUMMY_PASSWORD_HASH, password)
        return None
    user_id, stored = user.id, user.password_hash
    # End the lookup's transaction before the deliberately slow hash check, so that on SQLite
    # no write lock is held while it runs.
    db.session.rollback()
    if not verify_password(stored, password):
        return None
    return db.session.get(User, user_id)


KEPT_ACROSS_LOGIN = ("locale", "large_text", "csrf_token")


def start_session(user: User) -> None:
    """Sign the user in on this browser with a fresh, server-side revocable session."""
    token = new_token()
    db.session.add(UserSession(user_id=user.id, token_hash=token_hash(token)))
    # Start from a clean session, keeping the language and the form token: a double-clicked
    # login or registration form then meets a calm redirect, not a "form expired" page.
    kept = {key: session[key] for key in KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    session.update(kept)
    session["sid"] = token
    login_user(user)


def session_is_live(user_id: int, token: str | None) -> bool:
    if not token:
        return False
    return db.session.scalar(
        select(UserSession.id).where(
            UserSession.user_id == user_id,
            UserSession.token_hash == token_hash(token),
            UserSession.revoked_at.is_(None),
        )
    ) is not None


def end_session() -> None:
    """Log out: the session row is revoked, so the old cookie is worthless if replayed."""
    token = session.get("sid")
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token))
            .values(revoked_at=utcnow())
        )
    logout_user()
    session.clear()


def revoke_all_sessions(user: User) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def change_password(user: User, new_password: str, *, keep_signed_in: bool = True) -> None:
    """Set a new password and sign out every other browser."""
    user.password_hash = hash_password(new_password)
    revoke_all_sessions(user)
    void_reset_links(user)
    record("user.password_changed", actor=user, target=f"user:{user.id}")
    if keep_signed_in:
        start_session(user)


def update_preferences(user: User | None, *, locale: str | None = None,
                       large_text: bool | None = None) -> None:
    """Remember language and large-text mode: on the account if signed in, else in the session."""
    if locale is not None:
        if locale not in current_app.config["LANGUAGES"]:
            raise OperationError(_("That language is not available."))
        session["locale"] = locale
        if user is not None:
            user.locale = locale
    if large_text is not None:
        session["large_text"] = large_text
        if user is not None:
            user.large_text = large_text


def request_password_reset(login: str, reset_url) -> None:
    """Create a single-use reset token and deliver the link. Says nothing about whether the
    account exists: the caller shows the same message either way."""
    user = find_user(login)
    if user is None:
        return
    void_reset_links(user)  # only the newest link works
    token = new_token()
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=token_hash(token),
        expires_at=utcnow() + timedelta(hours=hours),
    ))
    record("user.password_reset_requested", actor=user, target=f"user:{user.id}")
    url = reset_url(token)
    if user.email and current_app.config.get("MAIL_SERVER"):
        # In the account holder's language, and sent in the background: the answer must not
        # take longer for an existing account than for an unknown one.
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _("Reset your Linli password")
            body = ngettext("Open this link within %(num)d hour to set a new password: %(url)s",
                            "Open this link within %(num)d hours to set a new password: %(url)s",
                            hours, url=url)
        queue_mail([(user.email, subject, body)])
    else:
        # No mail server (a community centre laptop): the operator reads the link from the log.
        log.warning("password reset link for user %s (no mail server configured): %s",
                    user.id, url)


def reset_in_person(actor: User, user: User, community: Community) -> str:
    """A committee member, with the resident in front of them, gives a one-time reset code
    (for accounts registered with a mobile number, which get no e-mail). Like a link asked for
    by e-mail, it voids every earlier one; it is audited, and only its hash is kept."""
    void_reset_links(user)
    code = "".join(secrets.choice(RESET_CODE_ALPHABET) for _ in range(RESET_CODE_LENGTH))
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=token_hash(code),
        expires_at=utcnow() + timedelta(hours=current_app.config["PASSWORD_RESET_HOURS"]),
    ))
    record("user.password_reset_in_person", actor=actor, community=community,
           target=f"user:{user.id}", member=user.display_name, method="in_person")
    return code


def normalise_reset_code(code: str) -> str:
    """A code as typed (lower case, spaces, dashes, full-width characters) as it was issued."""
    import unicodedata

    return "".join(ch for ch in unicodedata.normalize("NFKC", code).upper() if ch.isalnum())


def format_reset_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def void_reset_links(user: User) -> None:
    """Spend every reset link of the user still open: on a new request, and once the password
    has changed (through a link or in the account)."""
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow()))


def reset_token_user(token: str) -> PasswordResetToken | None:
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    return row


def reset_password(token: str, new_password: str) -> User:
    row = reset_token_user(token)
    if row is None:
        raise OperationError(_("This reset link has expired or was already used. Ask for a new one."))
    # Single use even under a double submit: only one UPDATE finds used_at still empty.
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise OperationError(_("This reset link has expired or was already used. Ask for a new one."))
    user = db.session.get(User, row.user_id)
    change_password(user, new_password, keep_signed_in=False)
    return user
