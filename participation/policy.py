"""The permission policy: the one place that answers "may this user do this here and now?".

Rules are small predicates over (user, membership, obj) composed per action, in the manner of
adhocracy4's rules. Each module of the core and each area registers the actions it owns when
`create_app` registers it, so views everywhere ask `can()`/`require()` and nothing else.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import abort, g
from flask_htmx.responses import HTMXResponseClientRedirect
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from . import clock
from .extensions import htmx, login_manager

if TYPE_CHECKING:
    from .accounts.models import User
    from .communities.models import Community, Membership

Predicate = Callable[["Context"], bool]


class Role(str, enum.Enum):
    """What a membership lets its holder do in a community: the policy's vocabulary."""

    RESIDENT = "resident"
    VERIFIED = "verified"
    PLANNER = "planner"
    COMMITTEE = "committee"
    MODERATOR = "moderator"


ROLE_VALUES = tuple(r.value for r in Role)


@dataclass(frozen=True)
class Context:
    user: User | None
    community: Community | None
    membership: Membership | None
    obj: object | None


_rules: dict[str, Predicate] = {}


def register(action: str, predicate: Predicate) -> None:
    """Declare who may do `action`. Each action is declared once, by the area that owns it."""
    if action in _rules and _rules[action] is not predicate:
        raise ValueError(f"permission rule {action!r} is already registered")
    _rules[action] = predicate


def actions() -> list[str]:
    return sorted(_rules)


# --- predicates -------------------------------------------------------------------------------


def is_authenticated(ctx: Context) -> bool:
    return ctx.user is not None


def is_admin(ctx: Context) -> bool:
    return ctx.user is not None and ctx.user.is_admin


def is_member(ctx: Context) -> bool:
    return ctx.membership is not None


def anyone(ctx: Context) -> bool:
    """Published content is public: anyone may read it, logged in or not."""
    return True


def is_verified_or_staff(ctx: Context) -> bool:
    """A member whose place in the community is known: verified, or holding a staff role."""
    return ctx.membership is not None and ctx.membership.role != Role.RESIDENT.value


def community_lets_unverified_post(ctx: Context) -> bool:
    """The community lets members not yet verified comment (its setting, off by default)."""
    return bool(getattr(ctx.community, "unverified_may_comment", False))


def has_role(*roles: Role) -> Predicate:
    wanted = {r.value for r in roles}

    def predicate(ctx: Context) -> bool:
        return ctx.membership is not None and ctx.membership.role in wanted

    return predicate


def all_of(*predicates: Predicate) -> Predicate:
    def predicate(ctx: Context) -> bool:
        return all(p(ctx) for p in predicates)

    return predicate


def any_of(*predicates: Predicate) -> Predicate:
    def predicate(ctx: Context) -> bool:
        return any(p(ctx) for p in predicates)

    return predicate


def not_blocked(ctx: Context) -> bool:
    return ctx.membership is not None and ctx.membership.blocked_at is None


def is_author(ctx: Context) -> bool:
    author_id = getattr(ctx.obj, "author_id", None)
    return ctx.user is not None and author_id == ctx.user.id


def within_edit_window(ctx: Context) -> bool:
    from flask import current_app

    created = getattr(ctx.obj, "created_at", None)
    minutes = current_app.config["COMMENT_EDIT_MINUTES"]
    return created is not None and clock.now() - created <= timedelta(minutes=minutes)


def is_official(ctx: Context) -> bool:
    return bool(getattr(ctx.obj, "is_official", False))


def content_live(ctx: Context) -> bool:
    return getattr(ctx.obj, "deleted_at", None) is None and getattr(ctx.obj, "hidden_at",
                                                                      None) is None


is_committee = has_role(Role.COMMITTEE)
is_planner = has_role(Role.PLANNER)
is_moderator = has_role(Role.MODERATOR)


def may_post(ctx: Context) -> bool:
    """May write in the community's discussions: a member not blocked by a moderator, and,
    while not yet verified, only where the community allows it."""
    return not_blocked(ctx) and (is_verified_or_staff(ctx) or community_lets_unverified_post(ctx))


# --- asking -----------------------------------------------------------------------------------


# How a user's active membership of a community is found: the communities module says, when
# it is registered (the policy itself knows no models).
_membership_loader: Callable[[User, Community], Membership | None] | None = None


def set_membership_loader(loader: Callable[[User, Community], Membership | None]) -> None:
    global _membership_loader
    _membership_loader = loader


def membership_of(user: User | None, community: Community | None) -> Membership | None:
    """The user's active membership in a community, loaded once per request."""
    if user is None or community is None or not user.is_authenticated:
        return None
    cache = g.setdefault("_memberships", {})
    key = (user.id, community.id)
    if key not in cache:
        cache[key] = _membership_loader(user, community)
    return cache[key]


def _user() -> User | None:
    # The user itself, not the proxy: every attribute read through the proxy looks the user
    # up again, and a page asks the policy dozens of times.
    user = current_user._get_current_object()
    return user if user is not None and user.is_authenticated else None


def can(action: str, community: Community | None = None, obj: object | None = None,
        user: User | None = None) -> bool:
    """May `user` (the current user by default) do `action` in `community` on `obj`?"""
    if action not in _rules:
        raise KeyError(f"unknown permission {action!r}")
    user = user if user is not None else _user()
    ctx = Context(user, community, membership_of(user, community), obj)
    return _rules[action](ctx)


def answers(actions, community: Community | None = None) -> dict[str, bool]:
    """May the current user do each of `actions` in `community` (on nothing in particular)?
    The user and their membership are looked up once for all of them."""
    user = _user()
    ctx = Context(user, community, membership_of(user, community), None)
    return {action: _rules[action](ctx) for action in actions}


class Refused(Forbidden):
    """A 403 that says why, in the user's language."""


def require(action: str, community: Community | None = None, obj: object | None = None,
            why: Callable[[], str | None] | None = None) -> None:
    """Stop the request unless the current user may: anonymous visitors are sent to log in,
    everyone else gets 403, with the reason `why()` gives where it gives one (a phase that has
    ended, say)."""
    if can(action, community, obj):
        return
    if not current_user.is_authenticated:
        response = login_manager.unauthorized()
        if htmx:  # a plain redirect would swap the login page into the posted form
            response = HTMXResponseClientRedirect(response.location)
        abort(response)
    reason = why() if why else None
    if reason:
        raise Refused(description=str(reason))
    abort(403)
