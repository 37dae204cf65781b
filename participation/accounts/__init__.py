"""Accounts: registering, logging in and out, server-side sessions, passwords, preferences."""
from __future__ import annotations

import functools

from flask import Flask, session
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, current_user

from participation import audit, policy
from participation.extensions import db, login_manager
from participation.registries import plug_in

RULES = {"account.use": policy.is_authenticated}


class Visitor(AnonymousUserMixin):
    """Someone reading without logging in: published pages are public, so the views and
    templates may ask a visitor what they ask a user, and get "nobody" back."""

    id = None
    is_admin = False
    memberships: tuple = ()
    current_community_id = None


def _load_user(user_id: str):
    """The signed-in user, their live session and their memberships with the communities, in
    one query: every page needs them (the header lists the communities, the policy asks the
    membership), so no page pays for them again."""
    from participation.security import token_hash

    token = session.get("sid")
    if not user_id.isdigit() or not token:
        return None
    return db.session.scalars(_user_query(), {"user_id": int(user_id),
                                              "token_hash": token_hash(token)}
                              ).unique().first()


@functools.cache
def _user_query():
    """The user loader's statement, built once: every request runs it, and building it (the
    joins and eager loads) costs as much as running it."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from .models import User, UserSession

    # The membership class is reached through the relationship: communities sit above accounts.
    membership = User.memberships.property.mapper.class_
    return (select(User).join(UserSession, UserSession.user_id == User.id)
            .where(User.id == bindparam("user_id"),
                   UserSession.token_hash == bindparam("token_hash"),
                   UserSession.revoked_at.is_(None))
            .options(joinedload(User.memberships).joinedload(membership.community)))


def _load_current_user() -> None:
    # Loaded before the view runs, so the view's own lookups of the user's communities are
    # answered from the session's identity map instead of the database.
    current_user._get_current_object()


def _users(ids: set[int]) -> dict:
    from sqlalchemy import select

    from .models import User

    return {u.id: (u.display_name, None)
            for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def init_app(app: Flask) -> None:
    from .views import bp

    plug_in(app, bp, RULES)
    login_manager.user_loader(_load_user)
    app.before_request(_load_current_user)
    login_manager.login_view = "accounts.login"
    login_manager.anonymous_user = Visitor
    audit.describe({
        "user.register": _l("Registered an account"),
        "user.password_changed": _l("Changed their password"),
        "user.password_reset_requested": _l("Asked for a link to reset their password"),
        "user.password_reset_in_person": _l("Gave %(object)s a password reset code in person"),
        "user.made_admin": _l("Made %(object)s a platform admin"),
    }, details={"via": _l("Via"), "method": _l("How"), "member": _l("Member")},
        values={"via": {"console": _l("the server console")}, "method": {"in_person": _l("in person")}})
    audit.name_objects("user", _users, _l("a former member"))
