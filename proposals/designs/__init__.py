"""Children's designs (儿童参与式设计): a planner's design call on a site, in a consultation of
the children's kind; children's drawings submitted through their guardians or uploaded from an
offline workshop, shown once approved; the children's sticker vote and its results by age band;
promotion of a design into a proposal, and the children's favourites as a plan source.

Children's profiles and their guardians' consent are the core's (participation.children):
everything here is registered as child data, so that withdrawing consent deletes it."""
from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from participation import audit
from participation.children import is_guardian
from participation.consultations import phase_open
from participation.phases import add_feature
from participation.policy import (
    Context,
    all_of,
    any_of,
    anyone,
    is_admin,
    is_moderator,
    is_planner,
)
from participation.registries import (
    ChildData,
    CommunityTab,
    ConsultationPanel,
    PlanSource,
    add_child_data,
    add_community_tab,
    add_consultation_panel,
    add_demo_seeder,
    add_plan_source,
    plug_in,
)
from participation.uploads import add_references

moderates = any_of(is_planner, is_moderator)


def _shown(ctx: Context) -> bool:
    return getattr(ctx.obj, "status", None) == "approved"


def _own_child(ctx: Context) -> bool:
    child = getattr(ctx.obj, "child", None)
    return ctx.user is not None and child is not None and child.guardian_id == ctx.user.id


RULES = {
    # The calls and their galleries of approved designs are public (nickname and age band
    # only); what is not yet approved, the views show only to its guardian and moderators.
    "designs.view": anyone,
    "design.manage": any_of(is_planner, is_admin),
    # A child's data before approval: the community's planners and moderators, nobody else.
    "design.moderate": moderates,
    # A design: anyone once approved; before, the child's guardian, planners and moderators.
    "design.see": any_of(_shown, _own_child, moderates),
    # Nobody approves their own child's drawing.
    "design.review": all_of(moderates, lambda ctx: not _own_child(ctx)),
    # A guardian deletes their child's drawing; a planner a workshop child's, on request.
    "design.remove": any_of(_own_child, is_planner),
    "design.workshop": is_planner,
    "design.submit": all_of(is_guardian, phase_open("design.submit")),
    "design.sticker": all_of(is_guardian, phase_open("design.sticker")),
}


def init_app(app: Flask) -> None:
    from . import demo, operations
    from .views import bp

    plug_in(app, bp, RULES)
    add_feature("design", "design.submit")
    add_feature("children_vote", "design.sticker")
    add_community_tab(CommunityTab("designs.calls", _l("Children's designs"), "designs.view",
                                   also=("designs.call", "designs.submit", "designs.review",
                                         "designs.new_workshop", "designs.tally",
                                         "designs.edit_call", "designs.new_call",
                                         "designs.delete_design")))
    add_consultation_panel(ConsultationPanel("designs/_consultation_panel.html", order=15))
    add_plan_source(PlanSource("children", _l("Children's favourites"), _l("stickers"),
                               Decimal(1), operations.plan_candidates, operations.plan_load,
                               order=25))
    add_child_data(ChildData(
        "designs", lambda n: ngettext("%(num)d drawing", "%(num)d drawings", n),
        operations.count_designs, operations.erase_designs))
    add_child_data(ChildData(
        "stickers", lambda n: ngettext("%(num)d sticker", "%(num)d stickers", n),
        operations.count_stickers, operations.erase_stickers))
    add_references(operations.FOLDER, operations.stored_files)
    add_demo_seeder(demo.seed, order=60)
    audit.describe({
        "design.call_open": _l("Opened the design call %(object)s"),
        "design.call_edit": _l("Edited the design call %(object)s"),
        "design.submit": _l("Submitted a child's design to %(object)s"),
        "design.moderate": _l("Reviewed a child's design in %(object)s: %(status)s"),
        "design.tally": _l("Counted a workshop's stickers in %(object)s"),
        "design.promote": _l("Made %(object)s of a children's design"),
        "design.remove": _l("Deleted a child's design in %(object)s"),
    }, details={"status": _l("Answer"), "stickers": _l("Stickers")},
        values={"status": {"approved": _l("approved"), "rejected": _l("turned down")}})
    audit.name_objects("design_call", _calls, _l("a deleted design call"))


def _calls(ids: set[int]) -> dict:
    from flask_babel import gettext as _
    from sqlalchemy import select

    from participation.extensions import db

    from .models import DesignCall
    from .views import call_url

    return {c.id: (_("the design call “%(title)s”", title=c.title), call_url(c))
            for c in db.session.scalars(select(DesignCall).where(DesignCall.id.in_(ids)))}
