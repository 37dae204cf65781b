"""Communities: the platform admin's communities, their households (the roster), invite codes,
memberships and roles, and the audit log page."""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import audit, policy
from participation.extensions import db
from participation.policy import (
    Context,
    Role,
    any_of,
    is_admin,
    is_committee,
    is_member,
)
from participation.registries import plug_in


def targets_other_resident(ctx: Context) -> bool:
    """The object is a resident's membership in this community, and not the actor's own.
    Staff roles (planner, committee, moderator) are the platform admin's to change."""
    from .models import Membership

    m = ctx.obj
    return (
        isinstance(m, Membership)
        and ctx.community is not None
        and m.community_id == ctx.community.id
        and m.role in (Role.RESIDENT.value, Role.VERIFIED.value)
        and (ctx.user is None or m.user_id != ctx.user.id)
    )


def targets_staff(ctx: Context) -> bool:
    """The object is a planner's, committee member's or moderator's membership here."""
    from .models import Membership

    m = ctx.obj
    return (isinstance(m, Membership) and ctx.community is not None
            and m.community_id == ctx.community.id
            and m.role in (Role.PLANNER.value, Role.COMMITTEE.value, Role.MODERATOR.value))


def targets_phone_account(ctx: Context) -> bool:
    """The object's account logs in with a mobile number (and so gets no reset e-mail)."""
    user = getattr(ctx.obj, "user", None)
    return user is not None and user.phone is not None


RULES = {
    "community.join": policy.is_authenticated,
    # A community's page is public; acting in it takes membership.
    "community.view": policy.anyone,
    "community.switch": any_of(is_member, is_admin),
    "community.manage_settings": any_of(is_committee, is_admin),
    "community.manage_households": any_of(is_committee, is_admin),
    "community.issue_invites": any_of(is_committee, is_admin),
    "community.manage_members": any_of(is_committee, is_admin),
    "membership.manage": any_of(is_admin, policy.all_of(is_committee, targets_other_resident)),
    "community.read_audit": any_of(is_committee, is_admin),
    "platform.manage_communities": is_admin,
    # Staff roles are the platform admin's to give and to take back.
    "membership.remove_role": policy.all_of(is_admin, targets_staff),
    # A committee member resets a resident's password in person (the admin anyone's).
    "membership.reset_password": policy.all_of(
        targets_phone_account,
        any_of(is_admin, policy.all_of(is_committee, targets_other_resident))),
}


def active_membership(user, community):
    from flask import g, has_request_context, request
    from sqlalchemy import inspect

    from participation.database import READ_ONLY_METHODS

    from .models import Membership

    user = getattr(user, "_get_current_object", lambda: user)()
    # The signed-in user comes with their memberships (accounts' user loader); a reading
    # request cannot have changed them since, nor a writing one that has not begun to write
    # (a `reads_first` view checking its request, in the transaction that loaded the user).
    if (has_request_context()
            and (request.method in READ_ONLY_METHODS or g.get("linli_reading"))
            and "memberships" not in inspect(user).unloaded):
        return next((m for m in user.memberships
                     if m.community_id == community.id and m.revoked_at is None), None)
    return db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.community_id == community.id,
            Membership.revoked_at.is_(None),
        )
    )


def _communities(ids: set[int]) -> dict:
    from flask import url_for

    from .models import Community

    return {c.id: (_("the community “%(name)s”", name=c.name),
                   url_for("communities.community", community_id=c.id))
            for c in db.session.scalars(select(Community).where(Community.id.in_(ids)))}


def init_app(app: Flask) -> None:
    from .views import bp, role_label

    plug_in(app, bp, RULES)
    policy.set_membership_loader(active_membership)
    audit.describe({
        "community.create": _l("Created %(object)s"),
        "community.settings": _l("Changed the settings of %(object)s"),
        "membership.assign_role": _l("Gave %(object)s the role %(role)s"),
        "membership.remove_role": _l("Took the role %(role)s from %(object)s"),
        "membership.join": _l("Joined the community"),
        "membership.verify": _l("Verified %(object)s as a resident in person"),
        "membership.revoke": _l("Revoked the membership of %(object)s"),
        "household.import": _l("Imported households into the roster"),
        "invite.issue": _l("Issued invite codes"),
        "invite.redeem": _l("Joined with an invite code"),
    }, details={
        "member": _l("Member"),
        "household": _l("Household"),
        "households": _l("Households"),
        "role": _l("Role"),
        "method": _l("How"),
        "days": _l("Valid for (days)"),
        "added": _l("Added"),
        "skipped": _l("Already in the roster"),
        "unverified_may_comment": _l("Members not yet verified may comment"),
    }, values={"role": role_label, "method": {"in_person": _l("in person")},
               "unverified_may_comment": {"yes": _l("yes"), "no": _l("no")}})
    audit.name_objects("community", _communities, _l("a former community"))
