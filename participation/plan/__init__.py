"""The plan (一社区一方案): the community's checkup (体检) against the complete-community
checklist, item by item from the deployment's data file, with its history; the inventory of
its sites (普查) pinned on its site plan; and its plans, lists of projects built from every
source registered with `add_plan_source` (checklist gaps and the draft's review here, the rest
by the modules and areas that own them), each scored by the plan's weights."""
from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import audit, notifications
from participation.extensions import db
from participation.consultations import phase_open
from participation.phases import add_feature
from participation.policy import (
    Role,
    all_of,
    any_of,
    anyone,
    has_role,
    is_admin,
    is_committee,
    is_member,
    is_planner,
    not_blocked,
)
from participation.registries import (
    CommunityTab,
    ConsultationPanel,
    PlanSource,
    SiteReference,
    add_community_tab,
    add_consultation_panel,
    add_demo_seeder,
    add_plan_source,
    add_site_reference,
    plug_in,
)
from participation.uploads import add_references

RULES = {
    # A community's checkup is public, like its plan; the committee and the planner carry it out.
    "checkup.view": anyone,
    "checkup.edit": any_of(is_planner, is_committee, is_admin),
    "sites.view": anyone,
    "sites.manage": any_of(is_planner, is_committee, is_admin),
    # Plans are public from their first draft; the planner and the committee build them.
    "plan.view": anyone,
    "plan.manage": any_of(is_planner, is_committee, is_admin),
    # Verified residents respond to the draft while its consultation's review phase runs
    # (the object checked is the plan's consultation).
    "plan.respond": all_of(has_role(Role.VERIFIED), not_blocked, phase_open("plan.respond")),
    # The residents' committee decides the list and answers objections to it.
    "plan.decide": any_of(is_committee, is_admin),
    # Any member objects to the published list while its notice runs (the object: the plan).
    "plan.object": all_of(is_member, not_blocked, lambda ctx: _notice_running(ctx.obj)),
    # The planner and the committee report how adopted projects are carried out; members
    # follow a project to be told of each update.
    "plan.track": any_of(is_planner, is_committee, is_admin),
    "plan.follow": all_of(is_member, not_blocked),
    # The street's or district's view of all its communities: platform admins.
    "district.view": is_admin,
}


def _notice_running(plan) -> bool:
    from participation import clock

    from .operations import notice_state

    return plan is not None and notice_state(plan, clock.now()) == "running"


def _photo_files() -> set[str]:
    from .models import CheckupEntry

    return set(db.session.scalars(select(CheckupEntry.photo)
                                  .where(CheckupEntry.photo.is_not(None))))


def _progress_files() -> set[str]:
    from .models import ProjectUpdatePhoto

    return set(db.session.scalars(select(ProjectUpdatePhoto.filename)))


def _site_files() -> set[str]:
    from .models import SitePhoto, SitePlan

    return set(db.session.scalars(select(SitePhoto.filename))) | set(
        db.session.scalars(select(SitePlan.image)))


def init_app(app: Flask) -> None:
    from . import demo, operations
    from .views import bp, draft_panel, site_projects

    plug_in(app, bp, RULES)
    add_demo_seeder(demo.seed)
    add_demo_seeder(demo.seed_plan, order=90)  # after the areas' proposals and ballots
    add_references("checkup", _photo_files)
    add_references("sites", _site_files)
    add_references("progress", _progress_files)
    add_community_tab(CommunityTab("plan.checkup", _l("Checkup"), "checkup.view"))
    add_community_tab(CommunityTab("plan.sites", _l("Sites"), "sites.view"))
    add_community_tab(CommunityTab("plan.public", _l("Plan"), "plan.view", also=(
        "plan.plans", "plan.new_plan", "plan.plan", "plan.builder", "plan.project",
        "plan.edit_project", "plan.delete_project", "plan.track", "plan.weights",
        "plan.decide", "plan.versions", "plan.version", "plan.notice", "plan.answer")))
    add_site_reference(SiteReference("projects", _l("Projects of the plan at this site"),
                                     site_projects))
    add_consultation_panel(ConsultationPanel("plan/_draft_panel.html", draft_panel, order=5))
    add_feature("plan_review", "plan.respond")
    notifications.register("plan.notice", lambda p: _(
        "The plan “%(title)s” is published: read it, and object within the notice period if "
        "you disagree.", title=p.get("title")))
    notifications.register("plan.update", lambda p: _(
        "The project “%(title)s” you follow has an update: %(status)s.", title=p.get("title"),
        status=_status_label(p.get("status"))))
    add_plan_source(PlanSource(
        "gap", _l("Checklist gaps"), _l("gap (missing 2, insufficient 1)"), Decimal(10),
        lambda community, query: list(operations.gap_items(community, None, query).values()),
        lambda community, refs: operations.gap_items(community, refs), order=10))
    add_plan_source(PlanSource(
        "review", _l("Residents' review of the draft"), _l("support, less objections"),
        Decimal(1), lambda community, query: [], operations.review_items, offered=False,
        order=90))
    audit.describe({
        "checkup.start": _l("Started a new checkup of the community"),
        "checkup.finding": _l("Recorded a checkup finding"),
    }, details={"item": _l("Checklist item"), "state": _l("Finding"),
                "value": _l("Measured value")},
        values={"state": {"present": _l("present"), "insufficient": _l("insufficient"),
                          "missing": _l("missing")}})
    audit.describe({
        "site.save": _l("Saved a site of the inventory"),
        "site_plan.save": _l("Uploaded the community's site plan"),
    }, details={"name": _l("Name")})
    audit.describe({
        "plan.create": _l("Opened a plan"),
        "plan.project": _l("Saved a project of the plan"),
        "plan.delete_project": _l("Removed a project from the plan"),
        "plan.source": _l("Added a source to a project of the plan"),
        "plan.unsource": _l("Removed a source from a project of the plan"),
        "plan.weights": _l("Changed the weights of the plan's priority scores"),
        "plan.refresh": _l("Read the plan's sources again"),
        "plan.consult": _l("Put the draft plan to residents"),
        "plan.decide": _l("Recorded the committee's decision on the plan"),
        "plan.publish": _l("Published the plan for objections"),
        "plan.answer": _l("Answered an objection to the plan"),
        "plan.update": _l("Reported progress on a project of the plan"),
    }, details={"name": _l("Name"), "source": _l("Source"), "reason": _l("Reason"),
                "changes": _l("Changes"), "changed": _l("Sources changed"),
                "title": _l("Title"), "version": _l("Version"),
                "present": _l("Members present"), "days": _l("Days of notice"),
                "status": _l("Status"), "progress": _l("Progress, %"),
                "on": _l("Date of the update")},
        values={"status": _status_labels()})


def _status_labels() -> dict:
    from .forms import STATUS_LABELS

    return STATUS_LABELS


def _status_label(status) -> str:
    return str(_status_labels().get(status, status or ""))
