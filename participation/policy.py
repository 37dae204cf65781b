"""The permission policy: the one place that answers "may this user do this here and now?".

Rules are small predicates over (user, membership, obj) composed per action, in the manner of
adhocracy4's rules. The core registers its own actions below; each area registers its actions when
`create_app` registers that area, so views everywhere ask `can()`/`require()` and nothing else.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select

from flask_htmx.responses import HTMXResponseClientRedirect

from . import clock
from .extensions import db, htmx, login_manager
from .phases import phase_allows
from .models import Community, Membership, Role, User

Predicate = Callable[["Context"], bool]


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


def targets_other_resident(ctx: Context) -> bool:
    """The object is a resident's membership in this community, and not the actor's own.
    Staff roles (planner, committee, moderator) are the platform admin's to change."""
    m = ctx.obj
    return (
        isinstance(m, Membership)
        and ctx.community is not None
        and m.community_id == ctx.community.id
        and m.role in (Role.RESIDENT.value, Role.VERIFIED.value)
        and (ctx.user is None or m.user_id != ctx.user.id)
    )


def not_blocked(ctx: Context) -> bool:
    return ctx.membership is not None and ctx.membership.blocked_at is None


def _consultation(obj):
    """The consultation an object belongs to: a consultation itself, or anything with a
    `consultation` (topics, an area's proposals) or a `topic` (comments)."""
    from .models import Consultation

    if isinstance(obj, Consultation):
        return obj
    if hasattr(obj, "consultation"):
        return obj.consultation
    if hasattr(obj, "topic"):
        return obj.topic.consultation
    return None


def phase_open(feature: str) -> Predicate:
    """The consultation's phase active now opens `feature` (see phases.py)."""

    def predicate(ctx: Context) -> bool:
        consultation = _consultation(ctx.obj)
        if consultation is None:
            return False
        return phase_allows(consultation.active_phase(clock.now()), feature)

    return predicate


def consultation_running(ctx: Context) -> bool:
    consultation = _consultation(ctx.obj)
    return consultation is not None and consultation.state(clock.now()) != "closed"


def is_author(ctx: Context) -> bool:
    author_id = getattr(ctx.obj, "author_id", None)
    return ctx.user is not None and author_id == ctx.user.id


def within_edit_window(ctx: Context) -> bool:
    from flask import current_app

    created = getattr(ctx.obj, "created_at", None)
    minutes = current_app.config["COMMENT_EDIT_MINUTES"]
    return created is not None and clock.now() - created <= timedelta(minutes=minutes)


def topic_live(ctx: Context) -> bool:
    """The discussion the object belongs to has not been hidden by a moderator."""
    from .models import Comment, Topic

    topic = ctx.obj if isinstance(ctx.obj, Topic) else \
        ctx.obj.topic if isinstance(ctx.obj, Comment) else None
    return topic is None or topic.hidden_at is None


def is_official(ctx: Context) -> bool:
    return bool(getattr(ctx.obj, "is_official", False))


def content_live(ctx: Context) -> bool:
    return getattr(ctx.obj, "deleted_at", None) is None and getattr(ctx.obj, "hidden_at",
                                                                      None) is None


is_committee = has_role(Role.COMMITTEE)
is_planner = has_role(Role.PLANNER)
is_moderator = has_role(Role.MODERATOR)

register("account.use", is_authenticated)
register("community.join", is_authenticated)
register("community.view", any_of(is_member, is_admin))
register("community.manage_households", any_of(is_committee, is_admin))
register("community.issue_invites", any_of(is_committee, is_admin))
register("community.manage_members", any_of(is_committee, is_admin))
register("membership.manage", any_of(is_admin, all_of(is_committee, targets_other_resident)))
register("community.read_audit", any_of(is_committee, is_admin))
register("platform.manage_communities", is_admin)

# Consultations and discussions (the phase decides what is open, see phases.py).
register("consultation.view", any_of(is_member, is_admin))
register("consultation.manage", any_of(is_planner, is_admin))
register("discussion.open_topic", all_of(
    not_blocked, any_of(all_of(is_planner, consultation_running),
                        phase_open("discussion.open_topic"))))
register("discussion.comment", all_of(not_blocked, topic_live,
                                      phase_open("discussion.comment")))
register("comment.upvote", all_of(is_member, content_live, topic_live,
                                  lambda ctx: not is_author(ctx),
                                  phase_open("discussion.comment")))
register("comment.edit", all_of(not_blocked, is_author, content_live, within_edit_window))
register("comment.delete", all_of(content_live, any_of(is_author, is_moderator, is_admin)))
register("comment.answer", all_of(any_of(is_planner, is_admin), consultation_running))
register("comment.pin", all_of(any_of(is_planner, is_admin), is_official, content_live))
register("content.report", all_of(is_member, content_live, topic_live))
register("moderation.manage", any_of(is_moderator, is_admin))
# Moderators block residents; staff roles are the platform admin's to manage.
register("moderation.block", any_of(is_admin, all_of(is_moderator, targets_other_resident)))
register("meeting.view", any_of(is_member, is_admin))
register("meeting.manage", any_of(is_planner, is_admin))


# --- asking -----------------------------------------------------------------------------------


def membership_of(user: User | None, community: Community | None) -> Membership | None:
    """The user's active membership in a community, loaded once per request."""
    if user is None or community is None:
        return None
    cache = g.setdefault("_memberships", {})
    key = (user.id, community.id)
    if key not in cache:
        cache[key] = db.session.scalar(
            select(Membership).where(
                Membership.user_id == user.id,
                Membership.community_id == community.id,
                Membership.revoked_at.is_(None),
            )
        )
    return cache[key]


def _user() -> User | None:
    return current_user if current_user.is_authenticated else None


def can(action: str, community: Community | None = None, obj: object | None = None,
        user: User | None = None) -> bool:
    """May `user` (the current user by default) do `action` in `community` on `obj`?"""
    if action not in _rules:
        raise KeyError(f"unknown permission {action!r}")
    user = user if user is not None else _user()
    ctx = Context(user, community, membership_of(user, community), obj)
    return _rules[action](ctx)


def require(action: str, community: Community | None = None, obj: object | None = None) -> None:
    """Stop the request unless the current user may: anonymous visitors are sent to log in,
    everyone else gets 403."""
    if can(action, community, obj):
        return
    if not current_user.is_authenticated:
        response = login_manager.unauthorized()
        if htmx:  # a plain redirect would swap the login page into the posted form
            response = HTMXResponseClientRedirect(response.location)
        abort(response)
    abort(403)
